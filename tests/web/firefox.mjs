// How Firefox is started in the tests: Debian's Firefox ESR, headless, driven by puppeteer-core
// over WebDriver BiDi (no downloaded browser or driver), with fake camera and microphone, WebRTC
// allowed on loopback with plain addresses, autoplay on, and nothing that reaches for the
// internet (this machine's network is closed).
export const firefoxOptions = {
  browser: 'firefox',
  executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  acceptInsecureCerts: true,
  extraPrefsFirefox: {
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
    'media.peerconnection.ice.loopback': true,
    'media.peerconnection.ice.obfuscate_host_addresses': false,
    'media.autoplay.default': 0,
    'media.autoplay.blocking_policy': 0,
    'intl.accept_languages': 'sv-SE, sv',
    'app.update.enabled': false,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.enabled': false,
    'extensions.update.enabled': false,
  },
};
