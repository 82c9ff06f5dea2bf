package dev.vigil.core.model;


import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.core.AtomicFiles;
import dev.vigil.core.VigilException;
import dev.vigil.core.Hashing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Signed model packages (Ed25519, in the JDK): {@code signature.json} beside {@code manifest.json} holds an Ed25519
 * signature of the manifest's exact bytes — and the manifest holds the SHA-256 of every other file, so the signature
 * covers the whole package. Keys are PEM files ({@code NAME.key}: PKCS#8, owner-only; {@code NAME.pub}: X.509
 * SubjectPublicKeyInfo), readable by OpenSSL. A key's id is the first 16 hex digits of the SHA-256 of its public key.
 *
 * <pre>{@code
 * PackageSignature.generate(dir, "factory");                       // factory.key, factory.pub
 * PackageSignature.sign(pkg, dir.resolve("factory.key"));           // pkg/signature.json
 * String keyId = PackageSignature.verify(pkg, List.of(PackageSignature.readPublic(dir.resolve("factory.pub"))));
 * }</pre>
 */
public final class PackageSignature {
    public static final String FILE = "signature.json";
    public static final String ALGORITHM = "Ed25519";

    private PackageSignature() {}

    /** Writes a new key pair {@code NAME.key} (owner-only) and {@code NAME.pub} into {@code dir}. */
    public static Path generate(Path dir, String name) throws IOException {
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")) {
            throw new VigilException("key name '" + name + "': use letters, digits, '.', '_' or '-'");
        }
        Path key = dir.resolve(name + ".key");
        if (Files.exists(key)) {
            throw new VigilException(key + " exists; a key is never overwritten: choose another --name or folder");
        }
        KeyPair kp;
        try {
            kp = KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no Ed25519: " + e, e);
        }
        Files.createDirectories(dir);
        AtomicFiles.write(key, pem("PRIVATE KEY", kp.getPrivate().getEncoded()));
        try {
            Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system
        }
        AtomicFiles.write(dir.resolve(name + ".pub"), pem("PUBLIC KEY", kp.getPublic().getEncoded()));
        return key;
    }

    /** Signs {@code pkg}'s manifest with the private key in {@code keyFile} (its public key is {@code .pub} beside). */
    public static String sign(Path pkg, Path keyFile) throws IOException {
        PrivateKey priv = readPrivate(keyFile);
        Path pubFile = keyFile.resolveSibling(keyFile.getFileName().toString().replaceFirst("\\.key$", "") + ".pub");
        PublicKey pub = readPublic(pubFile);
        byte[] manifest = Files.readAllBytes(pkg.resolve(ModelPackage.MANIFEST));
        ModelPackage.open(pkg); // sign only what verifies
        byte[] sig;
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initSign(priv);
            s.update(manifest);
            sig = s.sign();
            Signature check = Signature.getInstance(ALGORITHM);
            check.initVerify(pub);
            check.update(manifest);
            if (!check.verify(sig)) {
                throw new VigilException(pubFile + " is not the public key of " + keyFile + "; give the pair that"
                        + " 'vigil keygen' wrote");
            }
        } catch (GeneralSecurityException e) {
            throw new VigilException("cannot sign with " + keyFile + ": " + e.getMessage());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("algorithm", ALGORITHM);
        out.put("keyId", keyId(pub));
        out.put("signed", ModelPackage.MANIFEST);
        out.put("signature", Base64.getEncoder().encodeToString(sig));
        AtomicFiles.write(pkg.resolve(FILE), ModelPackage.json().writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(out));
        return keyId(pub);
    }

    /**
     * The id of the trusted key that signed {@code pkg}; a clear refusal when it is unsigned, signed by another key
     * or its manifest changed after signing.
     */
    public static String verify(Path pkg, List<PublicKey> trusted) {
        Path file = pkg.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new VigilException("model package " + pkg + " is not signed (no " + FILE + ") and model.trustedKeys"
                    + " requires a signature: sign it with 'vigil sign --key KEY " + pkg + "'");
        }
        try {
            JsonNode n = ModelPackage.json().readTree(file.toFile());
            String keyId = n.path("keyId").asText("");
            if (!ALGORITHM.equals(n.path("algorithm").asText())) {
                throw new VigilException(file + ": algorithm '" + n.path("algorithm").asText() + "' is not " + ALGORITHM);
            }
            byte[] sig = Base64.getDecoder().decode(n.path("signature").asText(""));
            byte[] manifest = Files.readAllBytes(pkg.resolve(ModelPackage.MANIFEST));
            for (PublicKey k : trusted) {
                if (!keyId(k).equals(keyId)) {
                    continue;
                }
                Signature s = Signature.getInstance(ALGORITHM);
                s.initVerify(k);
                s.update(manifest);
                if (s.verify(sig)) {
                    return keyId;
                }
                throw new VigilException("model package " + pkg + ": the signature of key " + keyId + " does not"
                        + " match its manifest: the package was changed after it was signed; refused");
            }
            throw new VigilException("model package " + pkg + " is signed by key " + keyId + ", which is not in"
                    + " model.trustedKeys; refused (add its .pub to model.trustedKeys if it is yours)");
        } catch (IOException | IllegalArgumentException | GeneralSecurityException e) {
            throw new VigilException("model package " + pkg + ": " + FILE + " cannot be read (" + e.getMessage()
                    + "); refused");
        }
    }

    public static String keyId(PublicKey k) {
        return Hashing.sha256(k.getEncoded()).substring(0, 16);
    }

    public static PublicKey readPublic(Path file) {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(unpem(file,
                    "PUBLIC KEY")));
        } catch (GeneralSecurityException | IOException | IllegalArgumentException e) {
            throw new VigilException("public key " + file + " cannot be read (" + e.getMessage() + "); give a .pub"
                    + " file written by 'vigil keygen'");
        }
    }

    public static PrivateKey readPrivate(Path file) {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(unpem(file,
                    "PRIVATE KEY")));
        } catch (GeneralSecurityException | IOException | IllegalArgumentException e) {
            throw new VigilException("private key " + file + " cannot be read (" + e.getMessage() + "); give a .key"
                    + " file written by 'vigil keygen'");
        }
    }

    private static byte[] pem(String type, byte[] der) {
        return ("-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.UTF_8))
                .encodeToString(der) + "\n-----END " + type + "-----\n").getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] unpem(Path file, String type) throws IOException {
        String s = Files.readString(file, StandardCharsets.UTF_8);
        String begin = "-----BEGIN " + type + "-----";
        String end = "-----END " + type + "-----";
        int a = s.indexOf(begin);
        int b = s.indexOf(end);
        if (a < 0 || b < a) {
            throw new IllegalArgumentException("not a PEM " + type.toLowerCase(java.util.Locale.ROOT));
        }
        return Base64.getMimeDecoder().decode(s.substring(a + begin.length(), b));
    }
}
