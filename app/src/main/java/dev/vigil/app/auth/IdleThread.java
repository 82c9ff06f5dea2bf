package dev.vigil.app.auth;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Puts the calling thread — one thread, not the process — into Linux's idle scheduling class ({@code SCHED_IDLE}):
 * it then runs only on CPU time no normal thread wants, so work such as password hashing cannot delay inspection.
 * Java cannot set a thread's policy itself; {@code chrt --idle -p 0 TID} can, with the thread's id from
 * {@code /proc/thread-self} (Linux scheduling policies and nice values are per thread). Without chrt, {@code renice
 * -n 19} is the fallback; elsewhere nothing changes.
 */
final class IdleThread {
    private static final System.Logger LOG = System.getLogger(IdleThread.class.getName());

    private IdleThread() {}

    /** Returns what the calling thread now runs as: "SCHED_IDLE", "nice 19" or "unchanged (reason)". */
    static String demoteCurrentThread() {
        String tid;
        try {
            tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
        } catch (Exception e) {
            return "unchanged (no /proc/thread-self)";
        }
        if (run("/usr/bin/chrt", "--idle", "-p", "0", tid)) {
            return "SCHED_IDLE";
        }
        if (run("/usr/bin/renice", "-n", "19", "-p", tid)) {
            return "nice 19";
        }
        LOG.log(System.Logger.Level.INFO, "password hashing runs at normal priority (neither chrt nor renice"
                + " could lower thread {0})", tid);
        return "unchanged (no chrt or renice)";
    }

    private static boolean run(String... command) {
        if (!Files.isExecutable(Path.of(command[0]))) {
            return false;
        }
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
