package dev.vigil.app.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The benchmark's percentiles come from the latency histograms the service publishes (Prometheus registry). */
class LatencyPercentileTest {
    @Test
    void percentilesInterpolatedFromTheHistogramAreCloseToTheTrueOnes() {
        Timer t = Timer.builder("t").publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(10)).register(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        assertTrue(Double.isNaN(ServiceBenchmark.percentileMs(t, 0.5)), "nothing recorded yet");
        for (int ms = 1; ms <= 1000; ms++) {
            t.record(Duration.ofMillis(ms));
        }
        // the buckets grow by about a third each: interpolation lands within one bucket of the true value
        assertEquals(500, ServiceBenchmark.percentileMs(t, 0.5), 500 * 0.35);
        assertEquals(990, ServiceBenchmark.percentileMs(t, 0.99), 990 * 0.35);
        assertTrue(ServiceBenchmark.percentileMs(t, 0.99) > ServiceBenchmark.percentileMs(t, 0.5));
    }
}
