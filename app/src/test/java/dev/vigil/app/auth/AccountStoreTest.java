package dev.vigil.app.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vigil.app.Vigil;
import dev.vigil.core.VigilException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccountStoreTest {
    @TempDir
    Path tmp;

    @Test
    void hashesAreSaltedSlowAndVerify() {
        String a = PasswordHasher.hash("correct horse".toCharArray());
        String b = PasswordHasher.hash("correct horse".toCharArray());
        assertNotEquals(a, b, "a fresh salt per hash");
        assertTrue(a.startsWith("pbkdf2-sha256$" + PasswordHasher.ITERATIONS + "$"));
        assertTrue(PasswordHasher.verify("correct horse".toCharArray(), a));
        assertFalse(PasswordHasher.verify("correct horsf".toCharArray(), a));
        assertFalse(PasswordHasher.verify("x".toCharArray(), "garbage"));
        assertFalse(PasswordHasher.verify("x".toCharArray(), "pbkdf2-sha256$0$AA==$AA=="));
    }

    @Test
    void accountsPersistWithoutPasswordsAndOwnerOnly() throws Exception {
        Path f = tmp.resolve("accounts.json");
        AccountStore s = new AccountStore(f);
        assertFalse(s.hasAdmin(), "no default account");
        s.put("anna", AccountStore.Role.ADMIN, "a long secret".toCharArray());
        s.put("ben", AccountStore.Role.OPERATOR, "another secret".toCharArray());
        String text = Files.readString(f);
        assertFalse(text.contains("a long secret") || text.contains("another secret"), "no clear-text password");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        AccountStore again = new AccountStore(f);
        assertTrue(again.hasAdmin());
        assertEquals(AccountStore.Role.OPERATOR,
                again.authenticate("ben", "another secret".toCharArray()).orElseThrow().role());
        assertTrue(again.authenticate("ben", "wrong password".toCharArray()).isEmpty());
        assertTrue(again.authenticate("nobody", "another secret".toCharArray()).isEmpty());
        assertTrue(again.remove("ben"));
        assertTrue(new AccountStore(f).authenticate("ben", "another secret".toCharArray()).isEmpty());
    }

    @Test
    void badNamesAndShortPasswordsAreRefusedWithTheReason() {
        AccountStore s = new AccountStore(tmp.resolve("accounts.json"));
        VigilException e = assertThrows(VigilException.class,
                () -> s.put("../root", AccountStore.Role.ADMIN, "long enough pw".toCharArray()));
        assertTrue(e.getMessage().contains("../root"), e.getMessage());
        e = assertThrows(VigilException.class, () -> s.put("anna", AccountStore.Role.ADMIN, "short".toCharArray()));
        assertTrue(e.getMessage().contains("at least"), e.getMessage());
    }

    @Test
    void theFirstAdminIsCreatedFromTheCommandLine() throws Exception {
        InputStream in = System.in;
        try {
            System.setIn(new ByteArrayInputStream("install secret 1\n".getBytes()));
            assertEquals(0, Vigil.run("user", "add", "--storage", tmp.toString(), "--role", "admin",
                    "--password-stdin", "admin"));
            System.setIn(new ByteArrayInputStream("x\n".getBytes()));
            assertNotEquals(0, Vigil.run("user", "add", "--storage", tmp.toString(), "--role", "boss",
                    "--password-stdin", "carl"));
        } finally {
            System.setIn(in);
        }
        AccountStore s = new AccountStore(tmp.resolve("accounts.json"));
        assertTrue(s.authenticate("admin", "install secret 1".toCharArray()).isPresent());
        assertEquals(1, s.accounts().size());
    }

    @Test
    void aRunningStoreSeesChangesMadeByAnotherProcessAndSurvivesABrokenFile() throws Exception {
        Path f = tmp.resolve("accounts.json");
        AccountStore serving = new AccountStore(f);
        assertTrue(serving.accounts().isEmpty());
        new AccountStore(f).put("anna", AccountStore.Role.ADMIN, "a long secret".toCharArray());
        assertTrue(serving.authenticate("anna", "a long secret".toCharArray()).isPresent(),
                "an account added by vigil user while the service runs logs in without a restart");
        assertEquals(java.util.Optional.of(AccountStore.Role.ADMIN), serving.role("anna"));
        new AccountStore(f).put("anna", AccountStore.Role.VIEWER, "a long secret".toCharArray());
        assertEquals(java.util.Optional.of(AccountStore.Role.VIEWER), serving.role("anna"));
        Files.writeString(f, "[{not json");
        assertEquals(java.util.Optional.of(AccountStore.Role.VIEWER), serving.role("anna"),
                "a broken file keeps the accounts read before");
        VigilException e = assertThrows(VigilException.class, () -> new AccountStore(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        Files.delete(f);
        new AccountStore(f).put("ben", AccountStore.Role.OPERATOR, "another secret".toCharArray());
        assertTrue(serving.role("anna").isEmpty(), "anna is not in the new file");
        assertEquals(java.util.Optional.of(AccountStore.Role.OPERATOR), serving.role("ben"));
        serving.put("carl", AccountStore.Role.OPERATOR, "third secret!".toCharArray());
        assertEquals(2, new AccountStore(f).accounts().size(), "a save keeps what another process added");
    }
}
