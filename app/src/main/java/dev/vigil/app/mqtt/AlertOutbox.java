package dev.vigil.app.mqtt;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The alert queue between the inspection loop and the broker: bounded, on disk ({@link AlertJournal}), delivered
 * in order, at least once, by one worker thread.
 *
 * <p>How an alert travels: {@link #offer} checks the quota and hands it to the worker without waiting for disk
 * or network (the caller is the inspection loop). The worker appends every alert that arrived since its last turn
 * to the journal and forces it to disk (group commit), and only then sends it. It keeps at most {@link #WINDOW}
 * alerts in flight; a PUBACK marks an alert acknowledged, and the journal's pointer advances over the contiguous
 * acknowledged prefix. Each connection is a <em>generation</em>: when the connection drops or comes back, the worker
 * forgets what was in flight and sends again from the oldest unacknowledged alert, so order is kept and nothing
 * is skipped. An alert whose PUBACK was lost with the connection is sent again (QoS 1 semantics; consumers
 * de-duplicate on the alert id).
 *
 * <p>Thread-safe: {@link #offer}, the connection events and the delivery results may come from any thread.
 */
final class AlertOutbox implements AutoCloseable {
    /** Most alerts sent and not yet acknowledged; below common brokers' receive maximum (Mosquitto: 20). */
    static final int WINDOW = 8;
    private static final long MAX_BACKOFF_MS = 30_000;
    private static final long CLOSE_WAIT_MS = 1_000;
    private static final System.Logger LOG = System.getLogger(AlertOutbox.class.getName());

    /** Sends one alert; the result comes back through {@link #delivered} or {@link #failed}. */
    interface Transport {
        /**
         * @throws Exception when the alert could not even be handed to the client (not connected, too many in
         *     flight); the outbox tries again later
         */
        void send(String topic, byte[] payload, long seq, long generation) throws Exception;
    }

    /** The broker answered the alert with an error reason code (as opposed to the connection failing). */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    private record Result(long seq, long generation, Throwable failure) {}

    private final AlertJournal journal;
    private final int quota;
    private final String broker;
    private final Transport transport;
    private final AtomicLong depth = new AtomicLong();
    private final AtomicLong overflow = new AtomicLong();
    private final AtomicLong delivered = new AtomicLong();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    // guarded by lock
    private final ArrayDeque<AlertJournal.Message> intake = new ArrayDeque<>();
    private final ArrayDeque<Result> results = new ArrayDeque<>();
    private boolean connected;
    private long generation;
    private boolean closing;
    private long closeDeadline;
    private boolean overflowing;
    private long overflowAtEpisodeStart;

    // worker thread only
    private final TreeMap<Long, AlertJournal.Entry> pending = new TreeMap<>();
    private final Set<Long> ackedAhead = new HashSet<>();
    private final Set<Long> inFlight = new HashSet<>();
    private long nextSend;
    private long sendGeneration = -1;
    private long retryAt;
    private long backoffMs;
    private boolean failing;

    private Thread worker;

    /**
     * @param quota most alerts waiting (on disk or in flight); more are counted as overflow
     * @param broker the broker URL, for log lines
     */
    AlertOutbox(AlertJournal journal, int quota, String broker, Transport transport) {
        this.journal = journal;
        this.quota = quota;
        this.broker = broker;
        this.transport = transport;
        for (AlertJournal.Entry e : journal.recovered()) {
            pending.put(e.seq(), e);
        }
        depth.set(pending.size());
        nextSend = pending.isEmpty() ? journal.nextSeq() : pending.firstKey();
        if (pending.size() > quota) {
            LOG.log(System.Logger.Level.WARNING, "alert journal {0} holds {1} alerts, more than mqtt.queueQuota"
                    + " {2}; all are kept, new alerts overflow until the queue is below the quota",
                    journal.dir(), pending.size(), quota);
        }
    }

    /** Starts the worker thread. */
    void start() {
        worker = new Thread(this::run, "vigil-mqtt-alerts");
        worker.setDaemon(true);
        worker.start();
    }

    /**
     * Queues an alert; never waits for disk or network.
     *
     * @return false when it was dropped: the queue is at its quota (counted in {@link #overflow()}) or the outbox is
     *     closed
     */
    boolean offer(String topic, byte[] payload) {
        lock.lock();
        try {
            if (closing) {
                LOG.log(System.Logger.Level.WARNING, "alert for {0} after the MQTT link was closed: dropped", topic);
                return false;
            }
            if (depth.get() >= quota) {
                long total = overflow.incrementAndGet();
                if (!overflowing) {
                    overflowing = true;
                    overflowAtEpisodeStart = total - 1;
                    LOG.log(System.Logger.Level.WARNING, "alert queue full: " + quota + " alerts (mqtt.queueQuota)"
                            + " wait in " + journal.dir() + " for broker " + broker + "; newer alerts are dropped"
                            + " and counted as overflow until the broker takes some. Restore the broker connection"
                            + " or raise mqtt.queueQuota");
                }
                return false;
            }
            if (overflowing) {
                overflowing = false;
                LOG.log(System.Logger.Level.WARNING, "alert queue has room again; {0} alerts were dropped while it"
                        + " was full ({1} since start)", overflow.get() - overflowAtEpisodeStart, overflow.get());
            }
            depth.incrementAndGet();
            intake.add(new AlertJournal.Message(topic, payload));
            work.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The connection is up: send again from the oldest unacknowledged alert. */
    void connectionUp() {
        connection(true);
    }

    /** The connection is gone: what was in flight will be sent again on the next connection. */
    void connectionDown() {
        connection(false);
    }

    /** The broker acknowledged the alert {@code seq} sent in {@code generation}. */
    void delivered(long seq, long generation) {
        result(new Result(seq, generation, null));
    }

    /**
     * The alert {@code seq} sent in {@code generation} was not acknowledged: the connection failed, or the broker
     * refused it ({@link Refused}).
     */
    void failed(long seq, long generation, Throwable failure) {
        result(new Result(seq, generation, failure));
    }

    /** Alerts waiting (journaled or in flight, not yet acknowledged). */
    long depth() {
        return depth.get();
    }

    /** Alerts dropped because the queue was at its quota, since this outbox was created. */
    long overflow() {
        return overflow.get();
    }

    /** Alerts acknowledged by the broker since this outbox was created. */
    long delivered() {
        return delivered.get();
    }

    /**
     * Stops the worker after it has written every queued alert to the journal and waited a short while for the
     * acknowledgements of those in flight. Undelivered alerts stay in the journal.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closing) {
                return;
            }
            closing = true;
            closeDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MS);
            work.signal();
        } finally {
            lock.unlock();
        }
        if (worker == null) {
            lock.lock();
            try {
                flushIntake(); // never started: still journal what was offered
            } finally {
                lock.unlock();
            }
        } else {
            join();
        }
        journal.close();
    }

    /** Stops at once, as a crash would: nothing more is written or sent (tests). */
    void abandon() {
        lock.lock();
        try {
            closing = true;
        } finally {
            lock.unlock();
        }
        if (worker != null) {
            worker.interrupt();
        }
        join();
        journal.close();
    }

    private void join() {
        if (worker == null) {
            return;
        }
        try {
            worker.join(TimeUnit.SECONDS.toMillis(10));
            if (worker.isAlive()) {
                LOG.log(System.Logger.Level.WARNING, "alert worker did not stop within 10 s; leaving it");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void flushIntake() {
        if (intake.isEmpty()) {
            return;
        }
        List<AlertJournal.Message> fresh = new ArrayList<>(intake);
        intake.clear();
        for (AlertJournal.Entry e : journal.append(fresh)) {
            pending.put(e.seq(), e);
        }
    }

    private void connection(boolean up) {
        lock.lock();
        try {
            connected = up;
            generation++;
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    private void result(Result r) {
        lock.lock();
        try {
            results.add(r);
            work.signal();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        try {
            while (true) {
                List<AlertJournal.Message> fresh;
                List<Result> done;
                boolean conn;
                long gen;
                boolean stop;
                lock.lock();
                try {
                    while (true) {
                        long wait = idleNanos(System.nanoTime());
                        if (wait <= 0) {
                            break;
                        }
                        if (wait == Long.MAX_VALUE) {
                            work.await();
                        } else {
                            work.awaitNanos(wait);
                        }
                    }
                    fresh = new ArrayList<>(intake);
                    intake.clear();
                    done = new ArrayList<>(results);
                    results.clear();
                    conn = connected;
                    gen = generation;
                    stop = closing;
                } finally {
                    lock.unlock();
                }
                if (!fresh.isEmpty()) {
                    for (AlertJournal.Entry e : journal.append(fresh)) {
                        pending.put(e.seq(), e);
                    }
                }
                if (gen != sendGeneration) {
                    sendGeneration = gen;
                    inFlight.clear();
                    nextSend = firstWaiting();
                    retryAt = 0;
                }
                handle(done);
                if (stop && (!conn || inFlight.isEmpty() || System.nanoTime() - closeDeadline >= 0)) {
                    int left = pending.size();
                    if (left > 0) {
                        LOG.log(System.Logger.Level.INFO, "{0} alerts stay in the journal {1} for the next start",
                                left, journal.dir());
                    }
                    return;
                }
                if (conn && !stop) {
                    send(gen);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // abandon(): stop as a crash would
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.ERROR, "alert delivery stopped: " + e + "; alerts stay in the journal "
                    + journal.dir() + " and are sent after a restart of the service", e);
        }
    }

    /** How long the worker may sleep (0: there is work now; MAX_VALUE: until signalled). Called under the lock. */
    private long idleNanos(long now) {
        if (!intake.isEmpty() || !results.isEmpty() || generation != sendGeneration) {
            return 0;
        }
        if (closing) {
            if (!connected || inFlight.isEmpty()) {
                return 0;
            }
            return Math.max(closeDeadline - now, 0);
        }
        if (!connected || inFlight.size() >= WINDOW || pending.ceilingKey(nextSend) == null) {
            return Long.MAX_VALUE;
        }
        return retryAt == 0 ? 0 : Math.max(retryAt - now, 0);
    }

    private long firstWaiting() {
        return pending.isEmpty() ? journal.nextSeq() : pending.firstKey();
    }

    private void handle(List<Result> done) {
        for (Result r : done) {
            boolean current = r.generation() == sendGeneration;
            if (current) {
                inFlight.remove(r.seq());
            }
            if (!pending.containsKey(r.seq())) {
                continue; // a late duplicate acknowledgement
            }
            if (r.failure() == null) {
                ackedAhead.add(r.seq());
                if (failing) {
                    failing = false;
                    LOG.log(System.Logger.Level.INFO, "broker {0} accepts alerts again", broker);
                }
                backoffMs = 0;
            } else if (current) {
                // Start over from the oldest unacknowledged alert, so that order is kept.
                inFlight.clear();
                nextSend = firstWaiting();
                if (r.failure() instanceof Refused) {
                    // The broker refused it on a live connection (e.g. not authorised): pause, then try again.
                    backoffMs = backoffMs == 0 ? 1000 : Math.min(backoffMs * 2, MAX_BACKOFF_MS);
                    retryAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMs);
                    if (!failing) {
                        failing = true;
                        LOG.log(System.Logger.Level.WARNING, "broker " + broker + " refused the alert on "
                                + pending.get(r.seq()).topic() + ": " + r.failure().getMessage() + "; retrying"
                                + " (every " + MAX_BACKOFF_MS / 1000 + " s at most) and keeping the alerts in "
                                + journal.dir() + ". Allow mqtt.username to publish under the topic prefix");
                    }
                } else {
                    // The connection failed under it; the disconnect event normally follows at once.
                    retryAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
                }
            }
        }
        long last = -1;
        while (!pending.isEmpty() && ackedAhead.remove(pending.firstKey())) {
            last = pending.pollFirstEntry().getKey();
            delivered.incrementAndGet();
            depth.decrementAndGet();
        }
        if (last >= 0) {
            Map.Entry<Long, AlertJournal.Entry> first = pending.firstEntry();
            journal.acknowledge(last, first == null ? journal.end() : first.getValue().start());
        }
    }

    private void send(long gen) {
        while (inFlight.size() < WINDOW) {
            long now = System.nanoTime();
            if (retryAt != 0 && now - retryAt < 0) {
                return;
            }
            Map.Entry<Long, AlertJournal.Entry> next = pending.ceilingEntry(nextSend);
            if (next == null) {
                return;
            }
            AlertJournal.Entry e = next.getValue();
            nextSend = e.seq() + 1;
            if (ackedAhead.contains(e.seq())) {
                continue;
            }
            try {
                transport.send(e.topic(), e.payload(), e.seq(), gen);
                inFlight.add(e.seq());
                retryAt = 0;
            } catch (Exception ex) {
                // Not connected any more (32104, the disconnect event follows) or too many in flight (32202):
                // try this alert again shortly; a connection event or an acknowledgement wakes the worker sooner.
                nextSend = e.seq();
                retryAt = now + TimeUnit.MILLISECONDS.toNanos(200);
                LOG.log(System.Logger.Level.DEBUG, "alert {0} not handed to the MQTT client ({1}); retrying",
                        e.seq(), ex.toString());
                return;
            }
        }
    }
}
