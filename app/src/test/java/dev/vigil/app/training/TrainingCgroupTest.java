package dev.vigil.app.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.core.VigilException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training cgroup's file protocol, on a folder laid out like a delegated cgroup v2 tree (this machine's cgroups
 * cannot be delegated to a test; the files and their order are what the kernel reads). The child it places is a real
 * {@code vigil train} process.
 */
class TrainingCgroupTest {
    @TempDir
    Path root;

    private Path serviceCgroup(String... procs) throws Exception {
        Path svc = Files.createDirectories(root.resolve("system.slice/vigil.service"));
        Files.writeString(svc.resolve("cgroup.procs"), String.join("\n", procs) + "\n");
        Files.writeString(svc.resolve("cgroup.subtree_control"), "\n");
        return svc;
    }

    @Test
    void setUpMovesTheServiceToALeafEnablesMemoryAndMakesTheTrainingGroup() throws Exception {
        Path svc = serviceCgroup("4242");
        TrainingCgroup cg = TrainingCgroup.probe(root, "0::/system.slice/vigil.service\n").orElseThrow();
        assertEquals("4242", Files.readString(svc.resolve("serve/cgroup.procs")), "the service moved to serve/");
        assertEquals("+memory", Files.readString(svc.resolve("cgroup.subtree_control")));
        assertEquals(svc.resolve("training"), cg.dir());
        assertTrue(Files.isDirectory(cg.dir()));

        // a restarted service already sits in serve/ and finds memory enabled: the same base, nothing re-enabled
        Files.writeString(svc.resolve("cgroup.procs"), "");
        Files.writeString(svc.resolve("cgroup.subtree_control"), "memory pids\n");
        TrainingCgroup again = TrainingCgroup.probe(root, "0::/system.slice/vigil.service/serve\n").orElseThrow();
        assertEquals(cg.dir(), again.dir());
        assertEquals("memory pids\n", Files.readString(svc.resolve("cgroup.subtree_control")));
    }

    @Test
    void noV2HierarchyOrNoDelegationMeansNoCgroup() throws Exception {
        assertEquals(Optional.empty(), TrainingCgroup.probe(root, "4:memory:/user.slice\n1:cpu:/\n"));
        Path svc = serviceCgroup("1");
        svc.resolve("cgroup.subtree_control").toFile().setWritable(false);
        if (!Files.isWritable(svc.resolve("cgroup.subtree_control"))) { // root may write anything
            assertEquals(Optional.empty(), TrainingCgroup.probe(root, "0::/system.slice/vigil.service\n"));
        }
    }

    @Test
    void theChildIsPlacedWithItsLimitAndAKernelOomKillIsReportedAsTheLimit() throws Exception {
        serviceCgroup("1");
        TrainingCgroup cg = TrainingCgroup.probe(root, "0::/system.slice/vigil.service\n").orElseThrow();
        Files.writeString(cg.dir().resolve("memory.swap.max"), "max\n");
        Files.writeString(cg.dir().resolve("memory.events"), "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n");
        // a real (small) training, so the child is still working when the fake OOM killer strikes: a child given bad
        // input could exit on its own first, and the test would race
        Path data = dev.vigil.trainer.SharedAssets.subset(dev.vigil.trainer.SharedAssets.casting().resolve("train"),
                root.resolve("data"), 0, 4);
        TrainingProcess child = new TrainingProcess(List.of("--data", data.toString(), "--backbone",
                dev.vigil.trainer.SharedAssets.squeezenet().toString(), "--out", root.resolve("out").toString(),
                "--cache", root.resolve("cache").toString(), "--model-cache", root.resolve("models").toString()), 1,
                777, Optional.of(cg));
        Thread oomKiller = new Thread(() -> {
            try {
                Path procs = cg.dir().resolve("cgroup.procs");
                long deadline = System.currentTimeMillis() + 30_000;
                while (!Files.exists(procs) && System.currentTimeMillis() < deadline) {
                    Thread.sleep(5);
                }
                long pid = Long.parseLong(Files.readString(procs).trim());
                // what the kernel does when the group passes memory.max: counts it, then SIGKILLs the process
                Files.writeString(cg.dir().resolve("memory.events"), "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n");
                new ProcessBuilder("kill", "-9", Long.toString(pid)).start().waitFor();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        oomKiller.start();
        VigilException e = assertThrows(VigilException.class, () -> child.run(1, line -> { }));
        oomKiller.join();
        assertEquals(Long.toString(777L << 20), Files.readString(cg.dir().resolve("memory.max")));
        assertEquals("0", Files.readString(cg.dir().resolve("memory.swap.max")));
        assertTrue(e.getMessage().contains("stopped by its memory limit (training.maxMemoryMb 777, the cgroup "
                + cg.dir()), e.getMessage());
    }
}
