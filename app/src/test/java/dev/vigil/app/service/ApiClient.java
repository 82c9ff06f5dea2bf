package dev.vigil.app.service;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.opencv.core.CvType;
import org.opencv.core.Mat;
import org.opencv.core.Scalar;
import org.opencv.imgcodecs.Imgcodecs;

/** What the service tests share: JSON requests with a session and CSRF token, and small frame folders. */
final class ApiClient {
    private ApiClient() {}

    /** A JSON request; {@code body} null sends none, {@code cookie}/{@code csrf} null leave those headers out. */
    static HttpResponse<String> send(String method, String url, String body, String cookie, String csrf)
            throws Exception {
        var b = HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        if (csrf != null) {
            b.header("X-CSRF-Token", csrf);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The same with a {cookie, csrf} pair from {@link ServiceEndToEndTest#login}. */
    static HttpResponse<String> send(String method, String url, String body, String[] session) throws Exception {
        return send(method, url, body, session[0], session[1]);
    }

    /** Writes {@code count} plain-coloured PNG frames f0.png, f1.png... of {@code width} x {@code height}. */
    static void writeFrames(Path folder, int count, int width, int height) throws Exception {
        dev.vigil.core.image.OpenCv.load();
        java.nio.file.Files.createDirectories(folder);
        for (int i = 0; i < count; i++) {
            Mat m = new Mat(height, width, CvType.CV_8UC3, new Scalar(50 + 60 * i, 100, 150));
            Imgcodecs.imwrite(folder.resolve("f" + i + ".png").toString(), m);
            m.release();
        }
    }
}
