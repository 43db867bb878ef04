// The Firebase Auth instance both sign-ins use (the map page's and the console's), from the
// page's own config: the project, and the emulator in local runs and tests. Bundled into
// each by esbuild; initializeAuth without a popup/redirect resolver, since getAuth() would
// load Google's scripts and an iframe for popups, which e-mail/password sign-in does not need.
import { initializeApp } from "firebase/app";
import { connectAuthEmulator, initializeAuth } from "firebase/auth";

export function firebaseAuth(persistence, emulatorOptions) {
  const config = JSON.parse(document.getElementById("config").textContent).firebase;
  const app = initializeApp({
    apiKey: config.apiKey,
    authDomain: config.authDomain,
    projectId: config.projectId,
  });
  const auth = initializeAuth(app, { persistence });
  if (config.emulatorUrl) connectAuthEmulator(auth, config.emulatorUrl, emulatorOptions);
  return auth;
}
