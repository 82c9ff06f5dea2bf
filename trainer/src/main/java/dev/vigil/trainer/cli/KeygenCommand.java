package dev.vigil.trainer.cli;

import dev.vigil.core.model.PackageSignature;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vigil keygen}: an Ed25519 key pair for signing model packages. */
@Command(name = "keygen", mixinStandardHelpOptions = true, description = "Write an Ed25519 key pair for signing model"
        + " packages: DIR/NAME.key (private, owner-only: keep it off the devices) and DIR/NAME.pub (give it to"
        + " the devices' model.trustedKeys).")
public final class KeygenCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "folder for the two files")
    Path out;

    @Option(names = "--name", paramLabel = "NAME", description = "file name of the pair (default ${DEFAULT-VALUE})")
    String name = "vigil-signing";

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        Path key = PackageSignature.generate(out, name);
        Path pub = out.resolve(name + ".pub");
        System.out.println("private key " + key + " (keep it secret), public key " + pub + " (key id "
                + PackageSignature.keyId(PackageSignature.readPublic(pub)) + ")");
        return 0;
    }
}
