package dev.vigil.app.auth;

import dev.vigil.config.DeviceConfig;
import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;
import java.nio.file.Path;

/** The account store (under storage.dir) and the session table as beans of the service. */
@Factory
public class AuthBeans {
    @Singleton
    AccountStore accounts(DeviceConfig config) {
        return new AccountStore(Path.of(config.storage().dir()).resolve("accounts.json"));
    }

    @Singleton
    Sessions sessions(dev.vigil.app.service.VigilService service) {
        return new Sessions(() -> java.time.Duration.ofMinutes(service.pipeline().config().web().sessionIdleMinutes()));
    }
}
