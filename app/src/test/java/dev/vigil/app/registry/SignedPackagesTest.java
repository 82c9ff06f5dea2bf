package dev.vigil.app.registry;

import dev.vigil.app.testing.TestConfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.ServeCommand;
import dev.vigil.app.service.InspectionPipeline;
import dev.vigil.app.service.VigilService;
import dev.vigil.app.testing.TestModels;
import dev.vigil.config.DeviceConfig;
import dev.vigil.core.VigilException;
import dev.vigil.core.model.ModelPackage;
import dev.vigil.core.model.PackageSignature;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signed model packages: a registry that trusts one key takes what that key (or the device's own) signed and refuses,
 * each with its reason, an unsigned package, one signed by another key and one whose manifest changed after signing;
 * the service configured with model.trustedKeys refuses an unsigned package at start and keeps collecting.
 */
class SignedPackagesTest {
    @TempDir
    Path tmp;

    private Path copy(Path pkg, String name) throws Exception {
        Path to = Files.createDirectories(tmp.resolve(name));
        for (String f : List.of(ModelPackage.MODEL, ModelPackage.MANIFEST, ModelPackage.REPORT)) {
            Files.copy(pkg.resolve(f), to.resolve(f));
        }
        return to;
    }

    @Test
    void onlyPackagesSignedByATrustedKeyEnter() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path pkg = TestModels.casting(tmp, "pkg", 0, 6, 3, 7L);
        Path keys = tmp.resolve("keys");
        PackageSignature.generate(keys, "factory");
        PackageSignature.generate(keys, "stranger");
        Path signed = copy(pkg, "signed");
        PackageSignature.sign(signed, keys.resolve("factory.key"));
        Path unsigned = copy(pkg, "unsigned");
        Path other = copy(pkg, "other");
        PackageSignature.sign(other, keys.resolve("stranger.key"));
        Path tampered = copy(pkg, "tampered");
        PackageSignature.sign(tampered, keys.resolve("factory.key"));
        Files.writeString(tampered.resolve(ModelPackage.MANIFEST), Files.readString(tampered.resolve(
                ModelPackage.MANIFEST)) + "\n"); // same content to a JSON reader, other bytes: not what was signed
        ModelPackage.open(tampered); // its file hashes still hold: only the signature tells

        ModelRegistry r = new ModelRegistry(tmp.resolve("registry"));
        r.trust(List.of(PackageSignature.readPublic(keys.resolve("factory.pub"))));
        VigilException e = assertThrows(VigilException.class, () -> r.add(unsigned, "test"));
        assertTrue(e.getMessage().contains("is not signed"), e.getMessage());
        e = assertThrows(VigilException.class, () -> r.add(other, "test"));
        assertTrue(e.getMessage().contains("which is not in model.trustedKeys"), e.getMessage());
        e = assertThrows(VigilException.class, () -> r.add(tampered, "test"));
        assertTrue(e.getMessage().contains("changed after it was signed"), e.getMessage());
        assertEquals(List.of(), r.entries(), "nothing refused entered the registry");
        ModelRegistry.Entry in = r.add(signed, "test");
        assertTrue(Files.exists(r.packageDir(in.id()).resolve(PackageSignature.FILE)), "the signature is kept");

        // what the device trains is signed with its own key, which it trusts
        Path byDevice = copy(TestModels.casting(tmp, "pkg2", 6, 6, 3, 8L), "by-device");
        PackageSignature.sign(byDevice, r.deviceKeyFile());
        r.add(byDevice, "device");
        assertEquals(2, r.entries().size());
    }

    @Test
    void aServiceWithTrustedKeysRefusesAnUnsignedPackageAtStart() throws Exception {
        dev.vigil.app.inference.LoadedModel.initEngine();
        Path pkg = TestModels.casting(tmp, "pkg", 0, 6, 3, 7L);
        Path keys = tmp.resolve("keys");
        PackageSignature.generate(keys, "factory");
        Path frames = tmp.resolve("frames");
        Files.createDirectories(frames);
        DeviceConfig c = TestConfig.device("line3")
                .cameras(List.of(new DeviceConfig.Camera("cam1", DeviceConfig.Source.folder(frames.toString(), 2,
                        true), null, null)))
                .model(new DeviceConfig.ModelSettings(pkg.toString(), false,
                        List.of(keys.resolve("factory.pub").toString())))
                .offline()
                .storage(new DeviceConfig.Storage(tmp.resolve("data").toString(), null, null, null, null, null))
                .build();
        ApplicationContext ctx = ServeCommand.start(c);
        try {
            InspectionPipeline p = ctx.getBean(VigilService.class).pipeline();
            assertEquals(null, p.model(), "not served");
            assertTrue(p.modelError() != null && p.modelError().contains("is not signed"), p.modelError());
        } finally {
            ctx.close();
        }
        PackageSignature.sign(pkg, keys.resolve("factory.key"));
        ctx = ServeCommand.start(c);
        try {
            assertTrue(ctx.getBean(VigilService.class).pipeline().model() != null, "signed: served");
        } finally {
            ctx.close();
        }
    }
}
