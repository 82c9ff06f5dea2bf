package dev.vigil.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * What a configuration key means and which values it takes: read by {@link Schema} for validation, the JSON Schema
 * ({@code vigil config schema}) and the reference ({@code docs/configuration.md}). The default is not here: it is
 * whatever the record's compact constructor puts in place of a missing value, so it is defined once.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.FIELD, ElementType.PARAMETER, ElementType.METHOD})
public @interface Key {
    /** One or two sentences for the reference. */
    String doc();

    /** Smallest number allowed (inclusive unless {@link #minExclusive}). */
    double min() default Double.NEGATIVE_INFINITY;

    /** Largest number allowed (inclusive). */
    double max() default Double.POSITIVE_INFINITY;

    boolean minExclusive() default false;

    /** The only values a text key takes; empty = any. */
    String[] oneOf() default {};

    /** A regular expression a text key must match in full; empty = any. */
    String pattern() default "";

    /** What the pattern means, for the error message ("1-64 letters, digits, '-' or '_'"). */
    String patternDoc() default "";

    /** Must be given: there is no default. */
    boolean required() default false;

    /**
     * How a change of this key takes effect in a running service: {@code hot} (at once), {@code camera} (that camera
     * restarts), {@code restart} (at the next start of the service).
     */
    String applies() default "hot";
}
