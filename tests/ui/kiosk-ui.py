#!/usr/bin/python3
"""The kiosk's touch screen driven as a citizen would, through the accessibility tree.

Run under Xvfb and a D-Bus session (the test does: xvfb-run … dbus-run-session …). It starts
`kiosk run` with a screen, finds its controls over AT-SPI by the names a screen reader would
read, and presses them: for each of the six languages a whole visit (language, an agency with
nobody free, booking a time instead, the booking-code screen, the agency that answers, the
meeting with the test sources, an interpreter and a colleague joining it, the scanner prompt,
scan, preview and send, the chat keyboard,
clearer colours and larger text, the survey, goodbye). The kiosk saves each screen as a PNG
when it first draws it (NARA_UI_SCREENSHOTS); the driver waits for those files, which is also
how it knows a screen is showing. On every screen it checks that each button and toggle has a
name in the screen's language.

Talks to the test on stdout (JSON lines) and stdin: `{"need": …}` asks it to do something at
an officer's desk or the broker, and it answers `ok`.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import pyatspi

PATIENCE = 60.0
SCAN_PATIENCE = 120.0

args = argparse.ArgumentParser()
args.add_argument('--kiosk-binary', required=True)
args.add_argument('--data-dir', required=True)
args.add_argument('--shots', required=True)
args.add_argument('--locales', required=True)
args.add_argument('--languages', default='sv,en,ar,prs,so,ti')
options = args.parse_args()


def say(**event):
    print(json.dumps(event, ensure_ascii=False), flush=True)


def need(what, **details):
    say(need=what, **details)
    answer = sys.stdin.readline().strip()
    if answer != 'ok':
        raise RuntimeError(f'the test did not do {what}: {answer!r}')


def messages(language):
    """The Fluent file's messages, `{ $name }` left in place (the files use single lines)."""
    found = {}
    path = os.path.join(options.locales, language, 'kiosk.ftl')
    with open(path, encoding='utf-8') as f:
        for line in f:
            match = re.match(r'^([a-z0-9-]+) = (.*)$', line.rstrip('\n'))
            if match:
                found[match.group(1)] = match.group(2)
    return found


TEXTS = {language: messages(language) for language in ['sv', 'en', 'ar', 'prs', 'so', 'ti']}


def prefix(text):
    """What a message says before its first `{ $name }`."""
    return text.split('{')[0].strip()


# Which agency has nobody who speaks the language online (the wait is long), and which one
# answers, for each language; the test has officers of CSN (anna.csn: sv, en; omar.csn: also
# ar) and of Arbetsförmedlingen (omar.arbetsformedlingen: also prs, so, ti) at their desks.
PLANS = {
    'sv': ('Pensionsmyndigheten', 'CSN'),
    'en': ('Pensionsmyndigheten', 'CSN'),
    'ar': ('Skatteverket', 'CSN'),
    'prs': ('Migrationsverket', 'Arbetsförmedlingen'),
    'so': ('Skatteverket', 'Arbetsförmedlingen'),
    'ti': ('Migrationsverket', 'Arbetsförmedlingen'),
}

# Whom the officer invites to interpret, by the citizen's language: a sign-language
# interpreter for a Swedish speaker.
INTERPRETED = {'sv': 'swl', 'en': 'en', 'ar': 'ar', 'prs': 'prs', 'so': 'so', 'ti': 'ti'}

INTERACTIVE = {'push button', 'toggle button', 'check box', 'radio button', 'text', 'entry', 'slider', 'combo box'}


def application():
    """The kiosk's accessible application: the one whose window is called Nära."""
    desktop = pyatspi.Registry.getDesktop(0)
    for i in range(desktop.childCount):
        app = desktop.getChildAtIndex(i)
        if app is None:
            continue
        try:
            windows = [app.getChildAtIndex(k).name for k in range(app.childCount)]
        except Exception:
            continue
        if 'Nära' in windows:
            return app
    return None


def applications():
    desktop = pyatspi.Registry.getDesktop(0)
    found = []
    for i in range(desktop.childCount):
        app = desktop.getChildAtIndex(i)
        try:
            children = [app.getChildAtIndex(k) for k in range(app.childCount)] if app is not None else []
            found.append((app.name, [(c.getRoleName(), c.name) for c in children if c is not None]))
        except Exception as error:
            # An application going or being drawn anew while it is listed.
            found.append((str(error), []))
    return found


def controls(app):
    """Every interactive control on the screen now: (role, name, node)."""
    found = []

    def walk(node):
        # A screen drawn anew while it is walked takes nodes away under the walk: what is gone
        # is skipped, and the caller looks again.
        try:
            role = node.getRoleName()
            # Only the screen drawn now is in the tree (each screen replaces the last), and
            # GTK 4.8 does not mark controls as showing: every one found counts.
            if role in INTERACTIVE:
                found.append((role, node.name, node))
            children = [node.getChildAtIndex(k) for k in range(node.childCount)]
        except Exception:
            return
        for child in children:
            if child is not None:
                walk(child)

    if app is not None:
        walk(app)
    return found


def find(name, starts=False, patience=PATIENCE):
    deadline = time.monotonic() + patience
    seen = []
    while time.monotonic() < deadline:
        try:
            seen = controls(application())
            for role, control_name, node in seen:
                text = (control_name or '').strip()
                if (text.startswith(name) if starts else text == name) and node.getState().contains(pyatspi.STATE_SENSITIVE):
                    return node
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f'no control named {name!r}; showing: {[n for _, n, _ in seen]} (applications: {applications()})')


def gone(node):
    try:
        return node.getState().contains(pyatspi.STATE_DEFUNCT) or node.getRoleName() == ''
    except Exception:
        return True


def press(name, starts=False, patience=PATIENCE):
    """Presses the control, then waits for the screen to be drawn anew (every press in this
    story changes what the screen shows, and the kiosk draws each change afresh), so that the
    next control looked for is one of the new screen."""
    deadline = time.monotonic() + patience
    while True:
        node = find(name, starts, patience)
        try:
            node.queryAction().doAction(0)
            break
        except Exception:
            # Drawn anew between finding and pressing: find it on the new screen.
            if time.monotonic() > deadline:
                raise
    while not gone(node):
        if time.monotonic() > deadline:
            raise RuntimeError(f'pressing {name!r} changed nothing on the screen')
        time.sleep(0.05)


checked = {}


def describe(role, node):
    """A control and where it is, for a failure's message."""
    try:
        parent = node.parent
        children = [(node.getChildAtIndex(k).getRoleName(), node.getChildAtIndex(k).name) for k in range(node.childCount)]
        return f'{role} in {parent.getRoleName()} {parent.name!r}, holding {children}'
    except Exception as error:
        return f'{role} ({error})'


def check_names(screen, language, controls_expected=True):
    """Every control on the screen has a name, and not GTK's type name.

    A screen drawn anew during the walk (a picture arriving, a notice going) takes its nodes
    away under it, and may leave the application briefly out of the tree: such a walk is
    made again, as `find` does. A control without a name stays without one, walk after walk.
    """
    deadline = time.monotonic() + 10.0
    while True:
        app = application()
        if app is None:
            problem = f'{language}-{screen}: the kiosk is not in the accessibility tree ({applications()})'
        else:
            found = controls(app)
            unnamed = [(role, node) for role, name, node in found
                       if not gone(node) and (not (name or '').strip() or (name or '').startswith('Gtk'))]
            if controls_expected and not found:
                problem = f'{language}-{screen}: no controls found'
            elif unnamed:
                problem = f'{language}-{screen}: controls without a name: {[describe(role, node) for role, node in unnamed]}'
            else:
                checked[f'{language}-{screen}'] = len(found)
                return
        if time.monotonic() > deadline:
            raise RuntimeError(problem)
        time.sleep(0.2)


def shot(name, patience=PATIENCE):
    path = os.path.join(options.shots, f'{name}.png')
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        time.sleep(0.1)
    try:
        showing = [n for _, n, _ in controls(application())]
    except Exception as error:
        showing = [str(error)]
    raise RuntimeError(f'the screen {name} was never shown (no {path}); controls now: {showing}')


def visit(language):
    t = TEXTS[language]
    sv = TEXTS['sv']
    lone, answering = PLANS[language]
    say(event='language', language=language)
    press(sv['attract-touch'], starts=True)
    shot('sv-language')
    press(t['language-name'])
    shot(f'{language}-agency')
    check_names('agency', language)

    # Nobody free who speaks the language: book a time instead, leave, and pick another.
    press(lone, starts=True)
    shot(f'{language}-waiting-no-officer')
    check_names('waiting', language)
    press(t['waiting-book-instead'])
    shot(f'{language}-book-instead')
    check_names('book-instead', language)
    press(t['waiting-leave'])
    shot(f'{language}-ended')
    check_names('ended', language)
    press(t['ended-another'])

    # The booking code: a short code is refused plainly.
    press(t['booking-button'])
    shot(f'{language}-booking')
    check_names('booking', language)
    press('A')
    press('B')
    press(t['booking-continue'])
    shot(f'{language}-booking-wrong')
    # A whole code nobody was given: the broker refuses it, and the citizen is told why in
    # their language, then is back at the code to correct it.
    for key in 'CD2345':
        press(key)
    press(t['booking-continue'])
    shot(f'{language}-refused')
    check_names('refused', language)
    press(t['refused-back'])
    press(t['back'])

    # The agency that answers: while the officer's network is slow, the citizen is told the
    # officer is coming; then the meeting.
    need('holdSignals')
    press(answering, starts=True)
    shot(f'{language}-connecting')
    check_names('connecting', language)
    need('releaseSignals')
    shot(f'{language}-meeting', SCAN_PATIENCE)
    check_names('meeting', language)
    # An interpreter joins, then a colleague from another agency: everyone is on the screen,
    # each named on their picture.
    need('inviteInterpreter', language=INTERPRETED[language])
    shot(f'{language}-meeting-with-2', SCAN_PATIENCE)
    check_names('meeting-with-2', language)
    need('inviteColleague')
    shot(f'{language}-meeting-with-3', SCAN_PATIENCE)
    check_names('meeting-with-3', language)
    # They leave again; the paper and the chat are between the citizen and the officer.
    need('guestsLeave')
    need('askDocument')
    shot(f'{language}-meeting-scan')
    check_names('meeting-scan', language)
    press(t['scanner-scan'])
    shot(f'{language}-meeting-preview', SCAN_PATIENCE)
    check_names('meeting-preview', language)
    press(prefix(t['scanner-send']), starts=True)
    shot(f'{language}-meeting-sent', SCAN_PATIENCE)
    need('expectDocument')
    press(t['chat-title'])
    shot(f'{language}-meeting-keyboard')
    check_names('meeting-keyboard', language)
    press('j')
    press('a')
    press(t['chat-send'])
    need('expectChat', text='ja')
    press(t['meeting-end'])

    # After the meeting: clearer colours and larger text, the survey, goodbye.
    press(t['survey-5'])
    shot(f'{language}-ended-thanks')
    press(t['settings-high-contrast'])
    shot(f'{language}-ended-thanks-contrast')
    press(t['settings-larger-text'])
    shot(f'{language}-ended-thanks-contrast-larger')
    check_names('ended-thanks', language)
    press(t['settings-larger-text'])
    press(t['settings-high-contrast'])
    press(t['ended-done'])
    shot(f'{language}-goodbye')
    check_names('goodbye', language)
    # Back at the attract screen, in Swedish, with nothing kept.
    find(sv['attract-touch'], starts=True, patience=30)
    need('officerAvailable')


def connection_lost(languages):
    """The broker goes away while a citizen waits: the place is kept, the citizen is told,
    and may leave. Then, with the broker still gone, the same screen in every language (a
    visit asked for without a broker stays asking)."""
    sv = TEXTS['sv']
    press(sv['attract-touch'], starts=True)
    press(sv['language-name'])
    press(PLANS['sv'][0], starts=True)
    find(sv['waiting-leave'])
    need('stopBroker')
    shot('sv-connection-lost')
    check_names('connection-lost', 'sv')
    press(sv['waiting-leave'])
    press(sv['ended-another'])
    for language in languages:
        t = TEXTS[language]
        if language != 'sv':
            press(t['language-name'])
            press(PLANS[language][0], starts=True)
            shot(f'{language}-connection-lost')
            check_names('connection-lost', language)
            press(t['waiting-leave'])
        # Leaving goes back to the agencies; back again to choose another language.
        find(PLANS[language][0], starts=True)
        press(t['back'])


env = dict(os.environ, NARA_UI_SCREENSHOTS=options.shots, GTK_A11Y='atspi',
           RUST_LOG=os.environ.get('RUST_LOG', 'info,webrtc=warn,rtc=warn,rtc_ice=error,nara_kiosk::ui=debug'))
kiosk = subprocess.Popen(
    [options.kiosk_binary, 'run', '--test-sources', '--loopback', '--api', '127.0.0.1:0',
     '--data-dir', options.data_dir, '--windowed'],
    env=env, stdout=subprocess.PIPE, text=True)
try:
    for line in kiosk.stdout:
        if line.startswith('READY'):
            api = re.search(r'api=(\S+)', line).group(1)
            say(event='kiosk', api=api)
            break
    else:
        raise RuntimeError('the kiosk ended before READY')
    shot('sv-attract')
    check_names('attract', 'sv')
    for language in options.languages.split(','):
        visit(language)
    need('outOfService')
    # Shown before anyone chose a language: its title is in all six.
    shot('sv-out-of-service')
    # Nothing to press while the kiosk is closed.
    check_names('out-of-service', 'sv', controls_expected=False)
    need('backInService')
    connection_lost(options.languages.split(','))
    say(event='passed', checked=checked)
except Exception as error:
    say(event='failed', message=str(error), checked=checked)
    sys.exit(1)
finally:
    kiosk.terminate()
    try:
        kiosk.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kiosk.kill()
