package dev.vigil.app.service;

import static dev.vigil.app.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.app.auth.AccountStore;
import dev.vigil.app.samples.Sample;
import dev.vigil.app.samples.SampleStore;
import dev.vigil.app.testing.TestConfig;
import dev.vigil.config.DeviceConfig;
import dev.vigil.trainer.SharedAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opencv.core.Mat;
import org.opencv.core.MatOfByte;
import org.opencv.imgcodecs.Imgcodecs;

/**
 * {@code GET /api/samples/{id}/thumbnail}: a 160-pixel JPEG made once from the stored image and kept beside it, cached
 * for a year with an ETag, gone with its sample (delete, quota). Measures what a grid of 200 samples transfers with
 * thumbnails against full images, on real camera images (KolektorSDD, 500x1264) and on small crops (casting, 300x300).
 */
class ThumbnailApiTest {
    private static final int GRID = 200;
    private final HttpClient http = HttpClient.newHttpClient();
    @TempDir
    Path tmp;

    @Test
    void thumbnailsAreSmallCachedForeverGoneWithTheSampleAndCutAGridsBytesTenfold() throws Exception {
        List<Path> kolektor = images(SharedAssets.kolektor(), GRID);
        List<Path> casting = images(SharedAssets.casting(), GRID);
        Path folder = tmp.resolve("frames");
        ApiClient.writeFrames(folder, 1, 96, 96);
        Path data = tmp.resolve("data");
        new AccountStore(data.resolve("accounts.json")).put("olga", AccountStore.Role.OPERATOR,
                "line two operator".toCharArray());
        String viewerPassword = ServiceEndToEndTest.viewer(data);
        DeviceConfig c = TestConfig.device("line3")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(folder.toString(), 4,
                        false), null, null)))
                .offline()
                .storage(new DeviceConfig.Storage(data.toString(), 4096, null, null, null, null))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            SampleStore store = ctx.getBean(VigilService.class).pipeline().samples();
            String url = ctx.getBean(EmbeddedServer.class).getURL().toString();
            await(() -> store.count() == 1, Duration.ofSeconds(10), "the collected sample");
            String[] vera = ServiceEndToEndTest.login(url, "vera", viewerPassword);
            String[] olga = ServiceEndToEndTest.login(url, "olga", "line two operator");
            List<Sample> real = add(store, kolektor, "cam-kolektor", 0);
            List<Sample> small = add(store, casting, "cam-casting", GRID);

            Sample s = real.get(0);
            String thumbUrl = url + "/api/samples/" + s.id() + "/thumbnail";
            assertEquals(401, bytes(thumbUrl, null, null).statusCode(), "needs a session");
            HttpResponse<byte[]> first = bytes(thumbUrl, vera[0], null);
            assertEquals(200, first.statusCode(), "a viewer may look");
            assertEquals("image/jpeg", first.headers().firstValue("content-type").orElseThrow());
            assertEquals("private, max-age=31536000, immutable",
                    first.headers().firstValue("cache-control").orElseThrow());
            String etag = first.headers().firstValue("etag").orElseThrow();
            assertTrue(etag.matches("\"[0-9a-f]{32}\""), etag);
            Mat m = Imgcodecs.imdecode(new MatOfByte(first.body()), Imgcodecs.IMREAD_UNCHANGED);
            assertEquals(160, Math.max(m.cols(), m.rows()), m.cols() + "x" + m.rows());
            assertEquals(Math.round(160 * 500 / 1264.0), m.cols(), "aspect kept");
            assertEquals(1, m.channels(), "a grey camera stays grey");
            Path thumbFile = data.resolve(s.file().replace(".jpg", ".thumb.jpg"));
            assertArrayEquals(first.body(), Files.readAllBytes(thumbFile), "kept on disk beside the image");
            assertEquals(s.bytes() + first.body().length, store.get(s.id()).orElseThrow().bytes(),
                    "the quota counts it");
            long made = Files.getLastModifiedTime(thumbFile).toMillis();
            HttpResponse<byte[]> again = bytes(thumbUrl, vera[0], null);
            assertArrayEquals(first.body(), again.body());
            assertEquals(etag, again.headers().firstValue("etag").orElseThrow());
            assertEquals(made, Files.getLastModifiedTime(thumbFile).toMillis(), "made once");
            HttpResponse<byte[]> revalidated = bytes(thumbUrl, vera[0], etag);
            assertEquals(304, revalidated.statusCode());
            assertEquals(0, revalidated.body().length);
            assertEquals(200, bytes(thumbUrl, vera[0], "\"00\"").statusCode(), "another ETag gets the image");
            assertEquals(404, bytes(url + "/api/samples/s0000000000000-deadbeef/thumbnail", vera[0], null)
                    .statusCode());

            long[] realBytes = grid(url, vera[0], real);
            long[] smallBytes = grid(url, vera[0], small);
            long list = bytes(url + "/api/samples?limit=" + GRID, vera[0], null).body().length;
            double realRatio = (double) (realBytes[1] + list) / (realBytes[0] + list);
            double smallRatio = (double) (smallBytes[1] + list) / (smallBytes[0] + list);
            System.out.printf("THUMBNAILS grid of %d samples, body bytes incl. the list (%d B):%n", GRID, list);
            System.out.printf("THUMBNAILS  KolektorSDD 500x1264 grey: full %d B, thumbnails %d B, ratio %.4f (1/%.0f)%n",
                    realBytes[0] + list, realBytes[1] + list, realRatio, 1 / realRatio);
            System.out.printf("THUMBNAILS  casting 300x300 colour:    full %d B, thumbnails %d B, ratio %.4f (1/%.1f)%n",
                    smallBytes[0] + list, smallBytes[1] + list, smallRatio, 1 / smallRatio);
            assertTrue(realRatio <= 0.1, "a grid of camera images moves at most a tenth of the bytes: " + realRatio);
            assertTrue(smallRatio < 0.75, "even small crops shrink: " + smallRatio);

            // deleted: the thumbnail goes with the sample, and its URL answers 404
            assertEquals(200, ApiClient.send("DELETE", url + "/api/samples/" + s.id(), null, olga).statusCode());
            assertFalse(Files.exists(thumbFile));
            assertEquals(404, bytes(thumbUrl, vera[0], null).statusCode());
            // the quota and retention remove them too
            assertTrue(thumbs(data).size() >= 2 * GRID - 1, "one thumbnail per sample shown: " + thumbs(data).size());
            store.limits(1, 0);
            store.enforce(Instant.now());
            assertTrue(store.totalBytes() <= 1, "under the quota");
            assertEquals(List.of(), thumbs(data), "no thumbnail outlives its sample");
        } finally {
            ctx.close();
        }
    }

    /** {full image bytes, thumbnail bytes} of a grid of these samples, as the page fetches them (bodies). */
    private long[] grid(String url, String cookie, List<Sample> samples) throws Exception {
        long full = 0;
        long thumbs = 0;
        for (Sample s : samples) {
            HttpResponse<byte[]> image = bytes(url + "/api/samples/" + s.id() + "/image", cookie, null);
            HttpResponse<byte[]> thumb = bytes(url + "/api/samples/" + s.id() + "/thumbnail", cookie, null);
            assertEquals(200, image.statusCode());
            assertEquals(200, thumb.statusCode());
            full += image.body().length;
            thumbs += thumb.body().length;
        }
        return new long[] {full, thumbs};
    }

    private HttpResponse<byte[]> bytes(String url, String cookie, String ifNoneMatch) throws Exception {
        var b = HttpRequest.newBuilder(URI.create(url));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        if (ifNoneMatch != null) {
            b.header("If-None-Match", ifNoneMatch);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static List<Sample> add(SampleStore store, List<Path> images, String camera, int offset)
            throws Exception {
        List<Sample> out = new ArrayList<>();
        Instant t0 = Instant.now().minusSeconds(3600);
        for (int i = 0; i < images.size(); i++) {
            out.add(store.add(camera, t0.plusMillis(offset + i), Files.readAllBytes(images.get(i)), "audit", null,
                    "unclassified", null, 0, null, null, images.get(i).getFileName().toString()));
        }
        return out;
    }

    /** The first {@code n} JPEGs of a dataset, in name order. */
    private static List<Path> images(Path dataset, int n) throws Exception {
        try (Stream<Path> s = Files.walk(dataset)) {
            List<Path> all = s.filter(p -> p.toString().matches(".*\\.jpe?g")).sorted().limit(n).toList();
            assertEquals(n, all.size(), "images in " + dataset);
            return all;
        }
    }

    private static List<Path> thumbs(Path data) throws Exception {
        try (Stream<Path> s = Files.walk(data.resolve("samples"))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".thumb.jpg")).toList();
        }
    }
}
