// Firebase Authentication e-mail/password sign-in for the map page, bundled by esbuild into
// dist/signin.js (npm run build) and served by the app: nothing loads from a CDN.
// The ID token stays in the SDK (this tab's session storage); coverage.js asks for it before
// every API call, and getIdToken() refreshes it first when it is about to expire (1 h).
import {
  browserSessionPersistence,
  onIdTokenChanged,
  signInWithEmailAndPassword,
  signOut,
} from "firebase/auth";
import { firebaseAuth } from "./firebase-app.js";

const $ = (id) => document.getElementById(id);
const auth = firebaseAuth(browserSessionPersistence);

const WRONG = "Wrong e-mail or password.";
const MESSAGES = {
  "auth/invalid-credential": WRONG,
  "auth/invalid-login-credentials": WRONG,
  "auth/wrong-password": WRONG,
  "auth/user-not-found": WRONG,
  "auth/invalid-email": "That is not a valid e-mail address.",
  "auth/missing-password": "Enter your password.",
  "auth/user-disabled": "This account is disabled: ask your organisation's administrator.",
  "auth/too-many-requests": "Too many attempts: wait a few minutes, then try again.",
  "auth/network-request-failed": "Cannot reach the sign-in service: check your connection.",
};

$("firebase-signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  $("firebase-submit").disabled = true;
  try {
    await signInWithEmailAndPassword(auth, $("email").value.trim(), $("password").value);
  } catch (error) {
    $("signin-error").textContent = MESSAGES[error.code] || `Sign-in failed (${error.code || error.message}).`;
  } finally {
    $("password").value = "";
    $("firebase-submit").disabled = false;
  }
});
$("signout").addEventListener("click", () => signOut(auth));

// Fires on sign-in, sign-out and every token refresh; only a change of user redraws.
let uid = null;
onIdTokenChanged(auth, (user) => {
  const next = user ? user.uid : null;
  if (next === uid) return;
  uid = next;
  $("firebase-signin").hidden = Boolean(user);
  $("signed-in").hidden = !user;
  $("who").textContent = user ? user.email || user.uid : "";
  if (user) window.codeliverSignIn(() => user.getIdToken());
  else window.codeliverSignOut();
});
