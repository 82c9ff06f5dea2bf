package dev.vigil.app.line;

import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * Every camera's {@link LineStation}, by its place in {@code cameras} (the block a protocol addresses), the heartbeat,
 * and the count of what the PLC sent that was refused: each refusal is answered with the protocol's own error,
 * counted ({@code vigil.plc.refused}) and logged the first time it happens per protocol and kind.
 */
public final class LineStations {
    private static final System.Logger LOG = System.getLogger(LineStations.class.getName());
    private final List<LineStation> stations;
    private final Lots lots;
    private final MeterRegistry metrics;
    private final Set<String> logged = ConcurrentHashMap.newKeySet();
    private final Map<String, io.micrometer.core.instrument.Counter> refusals = new ConcurrentHashMap<>();

    public LineStations(List<String> cameras, PartTracker parts, Lots lots, Supplier<List<String>> labels,
            IntSupplier ackTimeoutMs, ScheduledExecutorService scheduler, MeterRegistry metrics) {
        List<LineStation> s = new ArrayList<>();
        for (String c : cameras) {
            s.add(new LineStation(c, parts, labels, ackTimeoutMs, scheduler));
        }
        this.stations = List.copyOf(s);
        this.lots = lots;
        this.metrics = metrics;
        scheduler.scheduleAtFixedRate(() -> stations.forEach(LineStation::beat), 1, 1, TimeUnit.SECONDS);
    }

    public List<LineStation> all() {
        return stations;
    }

    /** The station at {@code index} (a camera's place in {@code cameras}); empty beyond the last. */
    public Optional<LineStation> at(int index) {
        return index >= 0 && index < stations.size() ? Optional.of(stations.get(index)) : Optional.empty();
    }

    public Lots lots() {
        return lots;
    }

    /**
     * Counts a refused request and logs it once per protocol and kind.
     *
     * @param kind e.g. {@code busy}, {@code read-only}, {@code address}, {@code value}, {@code unknown-node}
     */
    public void refused(String protocol, String kind, String detail) {
        refusals.computeIfAbsent(protocol + "/" + kind, k -> metrics.counter("vigil.plc.refused", "protocol", protocol,
                "kind", kind)).increment();
        if (logged.add(protocol + "/" + kind)) {
            LOG.log(System.Logger.Level.WARNING, protocol + ": refused (" + kind + "): " + detail + " (logged once;"
                    + " vigil_plc_refused_total counts every one)");
        }
    }
}
