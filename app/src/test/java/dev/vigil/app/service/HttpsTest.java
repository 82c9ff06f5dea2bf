package dev.vigil.app.service;

import dev.vigil.app.testing.TestConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.config.DeviceConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code web.tlsCertificate} + {@code web.tlsKey}: the service answers over HTTPS only, with that certificate. */
class HttpsTest {
    @TempDir
    Path tmp;

    @Test
    void theServiceSpeaksHttpsWithTheGivenCertificate() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "SKIPPED: openssl not installed");
        Process p = new ProcessBuilder("/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                "subjectAltName=IP:127.0.0.1").directory(tmp.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, out);
        Path frames = tmp.resolve("frames");
        ApiClient.writeFrames(frames, 2, 64, 48);
        DeviceConfig c = TestConfig.device("line8")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 2,
                        true), null, null)))
                .mqtt(new DeviceConfig.Mqtt("tcp://127.0.0.1:9", null, null, null, null, null, null, null, null, 60,
                        null))
                .storage(new DeviceConfig.Storage(tmp.resolve("data").toString(), null, null, null, null, null))
                .web(new DeviceConfig.Web(0, "127.0.0.1", null, null, null, tmp.resolve("cert.pem").toString(),
                        tmp.resolve("key.pem").toString()))
                .build();
        assertEquals(List.of(), c.problems());
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            EmbeddedServer server = ctx.getBean(EmbeddedServer.class);
            assertEquals("https", server.getScheme());
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            try (InputStream in = Files.newInputStream(tmp.resolve("cert.pem"))) {
                trust.setCertificateEntry("vigil", CertificateFactory.getInstance("X.509").generateCertificate(in));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            HttpClient client = HttpClient.newBuilder().sslContext(ssl).build();
            String url = "https://127.0.0.1:" + server.getPort();
            HttpResponse<String> live = client.send(HttpRequest.newBuilder(URI.create(url + "/health/liveness"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, live.statusCode(), live.body());
            assertEquals(401, client.send(HttpRequest.newBuilder(URI.create(url + "/api/status")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode(), "deny by default over HTTPS too");
            // plain HTTP on that port gets no answer a browser would show
            assertThrows(Exception.class, () -> {
                HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + server.getPort() + "/health/liveness")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
                throw new IllegalStateException("HTTP answered " + r.statusCode());
            });
        } finally {
            ctx.close();
        }
    }
}
