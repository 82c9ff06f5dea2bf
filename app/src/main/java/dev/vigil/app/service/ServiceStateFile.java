package dev.vigil.app.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.core.AtomicFiles;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code <storage.dir>/service.json}, written once the HTTP server listens: the process id, the port it really
 * listens on (web.port 0 picks one), when it started, and whether the configured model was loaded. {@code
 * vigil-healthcheck} reads the port from it, {@code upgrade.sh} also whether the new release loaded its model.
 */
@Singleton
public class ServiceStateFile implements ApplicationEventListener<ServerStartupEvent> {
    public static final String FILE = "service.json";
    private static final System.Logger LOG = System.getLogger(ServiceStateFile.class.getName());
    private final VigilService service;

    public ServiceStateFile(VigilService service) {
        this.service = service;
    }

    @Override
    public void onApplicationEvent(ServerStartupEvent event) {
        InspectionPipeline p = service.pipeline();
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("pid", ProcessHandle.current().pid());
        state.put("port", event.getSource().getPort());
        state.put("startedAt", Instant.now().toString());
        state.put("modelConfigured", p.config().model().packageDir() != null);
        state.put("model", p.model() == null ? null : p.model().id());
        state.put("modelError", p.modelError());
        Path file = Path.of(p.config().storage().dir()).resolve(FILE);
        try {
            AtomicFiles.write(file, new ObjectMapper().writerWithDefaultPrettyPrinter()
                    .writeValueAsBytes(state));
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot write " + file + ": " + e.getMessage());
        }
    }
}
