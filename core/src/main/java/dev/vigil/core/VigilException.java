package dev.vigil.core;


/**
 * A failure caused by the user's input (a file, a folder, a flag) rather than by a bug. Its message is written for
 * the operator: it names what was wrong and says what to do, and the CLI prints it as one line without a stack trace.
 */
public class VigilException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public VigilException(String message) {
        super(message);
    }

    public VigilException(String message, Throwable cause) {
        super(message, cause);
    }
}
