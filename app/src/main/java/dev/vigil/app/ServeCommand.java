package dev.vigil.app;

import io.micronaut.runtime.Micronaut;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "serve")
public final class ServeCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        var ctx = Micronaut.build(new String[0]).mainClass(Vigil.class).start();
        Thread.currentThread().join();
        return 0;
    }
}
