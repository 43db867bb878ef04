// Firebase Authentication e-mail/password sign-in for the console, bundled by esbuild into
// dist/console-signin.js (npm run build) and served by the app. The ID token is handed to the
// server once, in the sign-in form (with its CSRF token), and exchanged there for an
// HttpOnly session cookie; the SDK keeps nothing (in-memory persistence, signed out at once).
import { inMemoryPersistence, signInWithEmailAndPassword, signOut } from "firebase/auth";
import { firebaseAuth } from "./firebase-app.js";

const $ = (id) => document.getElementById(id);
const auth = firebaseAuth(inMemoryPersistence, { disableWarnings: true });

// The words are the page's, in its language (data-* of #signin-error); English if absent.
const words = $("signin-error").dataset;
const WRONG = words.wrong || "Wrong email address or password.";
const MESSAGES = {
  "auth/invalid-credential": WRONG,
  "auth/invalid-login-credentials": WRONG,
  "auth/wrong-password": WRONG,
  "auth/user-not-found": WRONG,
  "auth/invalid-email":
    words.invalidEmail || "Enter an email address in the correct format, like name@example.org.",
  "auth/missing-password": words.missingPassword || "Enter your password.",
  "auth/user-disabled":
    words.disabled || "This account is disabled: ask your organisation's administrator.",
  "auth/too-many-requests":
    words.tooMany || "Too many attempts: wait a few minutes, then try again.",
  "auth/network-request-failed":
    words.network || "Cannot reach the sign-in service: check your connection.",
};

$("firebase-signin").hidden = false;
$("needs-js").hidden = true;
$("firebase-signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  $("firebase-submit").disabled = true;
  try {
    const credential = await signInWithEmailAndPassword(
      auth,
      $("email").value.trim(),
      $("password").value,
    );
    $("id_token").value = await credential.user.getIdToken();
    await signOut(auth);
    $("session-form").submit();
  } catch (error) {
    $("signin-error").textContent =
      MESSAGES[error.code] ||
      `${words.failed || "Sign-in failed"} (${error.code || error.message}).`;
    $("firebase-submit").disabled = false;
  } finally {
    $("password").value = "";
  }
});
