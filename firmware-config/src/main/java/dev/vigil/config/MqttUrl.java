package dev.vigil.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * The one rule set for {@code mqtt.url}: tcp:// and ssl:// (Paho's schemes), with mqtt://, mqtts:// and tls:// as
 * aliases; a host is required; the port defaults to 1883, or 8883 for TLS. The validator reports a bad URL as a
 * configuration problem and the MQTT link connects to {@link #serverUri}; both read it here.
 */
public final class MqttUrl {
    /** The schemes {@code mqtt.url} may have (the key's pattern, in the schema and the reference). */
    public static final String PATTERN = "(tcp|ssl|mqtt|mqtts|tls)://.+";
    private static final String HINT = "; use tcp://host:1883, or ssl://host:8883 for TLS (mqtt:// and mqtts:// work"
            + " too)";

    private MqttUrl() {}

    /** The Paho server URI for {@code url}; throws with the key, the (masked) value and what to do. */
    public static String serverUri(String url) {
        String bad = "mqtt.url '" + Redact.text(url) + "': ";
        URI uri;
        try {
            uri = new URI(url.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(bad + "not a URL (" + e.getReason() + ")" + HINT, e);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        String paho = switch (scheme) {
            case "tcp", "mqtt" -> "tcp";
            case "ssl", "mqtts", "tls" -> "ssl";
            default -> throw new IllegalArgumentException(bad + "scheme '" + scheme + "' is not supported" + HINT);
        };
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new IllegalArgumentException(bad + "no host" + HINT);
        }
        int port = uri.getPort() > 0 ? uri.getPort() : "ssl".equals(paho) ? 8883 : 1883;
        String host = uri.getHost().contains(":") && !uri.getHost().startsWith("[") ? "[" + uri.getHost() + "]"
                : uri.getHost();
        return paho + "://" + host + ":" + port;
    }

    /** True when {@code url} is a TLS connection (ssl://, mqtts:// or tls://); false for anything else. */
    public static boolean tls(String url) {
        try {
            return serverUri(url).startsWith("ssl://");
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
