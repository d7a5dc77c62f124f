// An incoming offer rings: a two-tone chime every two seconds through Web Audio, and a
// browser notification when the page is not in front (permission is asked when the officer
// goes available, which is a click). Both stop when the offer is answered or withdrawn.

export class Ringer {
  private audio: AudioContext | null = null;
  private timer = 0;
  private notification: Notification | null = null;

  /** Asks for notification permission; call from a click. */
  static prepare(): void {
    if ('Notification' in window && Notification.permission === 'default') {
      void Notification.requestPermission();
    }
  }

  start(title: string, body: string, onClick: () => void): void {
    this.stop();
    this.chime();
    this.timer = window.setInterval(() => this.chime(), 2000);
    if ('Notification' in window && Notification.permission === 'granted' && document.visibilityState !== 'visible') {
      this.notification = new Notification(title, { body, requireInteraction: true, tag: 'nara-offer' });
      this.notification.onclick = () => {
        window.focus();
        onClick();
      };
    }
  }

  stop(): void {
    window.clearInterval(this.timer);
    this.timer = 0;
    this.notification?.close();
    this.notification = null;
  }

  private chime(): void {
    try {
      this.audio ??= new AudioContext();
      const start = this.audio.currentTime;
      for (const [offset, frequency] of [[0, 880], [0.25, 660]] as const) {
        const tone = this.audio.createOscillator();
        const gain = this.audio.createGain();
        tone.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.3, start + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.22);
        tone.connect(gain).connect(this.audio.destination);
        tone.start(start + offset);
        tone.stop(start + offset + 0.25);
      }
    } catch {
      // No audio output (a desk without speakers): the visual offer still shows.
    }
  }
}
