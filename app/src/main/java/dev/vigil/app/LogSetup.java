package dev.vigil.app;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import dev.vigil.config.DeviceConfig;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * One logging API: everything goes through SLF4J to logback ({@code logback.xml}). The JDK's System.Logger (Vigil's
 * own classes) arrives through slf4j-jdk-platform-logging, java.util.logging (Paho) through jul-to-slf4j, installed
 * here. {@code logging.format: json} switches the output to one JSON object per line.
 */
public final class LogSetup {
    /** The system property logback.xml reads to pick its appender: text or json. */
    public static final String FORMAT_PROPERTY = "vigil.log.format";

    private LogSetup() {}

    /** Routes java.util.logging into SLF4J; call once at start. */
    public static void init() {
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
    }

    /** Applies {@code logging}: reconfigures logback when the format differs from the one in force. */
    public static void apply(DeviceConfig.Logging logging) {
        String format = logging.json() ? "json" : "text";
        if (format.equals(System.getProperty(FORMAT_PROPERTY, "text"))) {
            return;
        }
        System.setProperty(FORMAT_PROPERTY, format);
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return;
        }
        ctx.reset();
        JoranConfigurator c = new JoranConfigurator();
        c.setContext(ctx);
        try {
            c.doConfigure(LogSetup.class.getResource("/logback.xml"));
        } catch (JoranException e) {
            throw new IllegalStateException("logback.xml: " + e.getMessage(), e);
        }
    }
}
