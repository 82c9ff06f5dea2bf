package dev.vigil.trainer.cli;

import dev.vigil.core.model.PackageSignature;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vigil sign}: sign a model package (its manifest, which holds every file's hash). */
@Command(name = "sign", mixinStandardHelpOptions = true, description = "Sign model package PKG with an Ed25519 key"
        + " from 'vigil keygen' (KEY.key, with KEY.pub beside it): writes PKG/signature.json. A device whose"
        + " model.trustedKeys lists KEY.pub takes the package; one signed by another key, or changed after signing,"
        + " is refused.")
public final class SignCommand implements Callable<Integer> {
    @Option(names = "--key", required = true, paramLabel = "KEY", description = "the private key file (NAME.key)")
    Path key;

    @Parameters(paramLabel = "PKG", description = "model package folder")
    Path pkg;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        String id = PackageSignature.sign(pkg, key);
        System.out.println("signed " + pkg + " with key " + id);
        return 0;
    }
}
