package dev.vigil.trainer.cli;

import dev.vigil.trainer.backbone.BackboneCatalog;
import dev.vigil.trainer.backbone.BackboneSpec;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code vigil backbones}: the catalog. */
@Command(name = "backbones", mixinStandardHelpOptions = true, description = "List the backbone catalog.")
public final class BackbonesCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        for (BackboneSpec b : BackboneCatalog.all()) {
            System.out.printf("%-20s %s%n  file %s, %d bytes, sha256 %s%n  url %s%n  input %s%n  blocks %s%n",
                    b.name(), b.description(), b.fileName(), b.sizeBytes(), b.sha256(), b.url(), b.preprocessing(),
                    b.blocks().isEmpty() ? "found by graph analysis when the file is first loaded"
                            : b.blocks().size() + " (cut points " + b.blocks() + ")");
        }
        return 0;
    }
}
