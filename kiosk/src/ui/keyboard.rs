//! On-screen keyboards: the booking code's letters and digits, and a Swedish layout for the
//! chat. Every key is a big button named by what it types, so a screen reader reads it.

use gtk::prelude::*;
use gtk4 as gtk;

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Key {
    Char(char),
    Erase,
}

/// The letters in booking codes (the broker's alphabet, without look-alikes), in rows.
pub const BOOKING_ROWS: [&str; 4] = ["23456789", "ABCDEFGH", "JKLMNPQR", "STUVWXYZ"];

/// The chat's rows: a Swedish keyboard, digits first.
pub const CHAT_ROWS: [&str; 4] = ["1234567890", "qwertyuiopå", "asdfghjklöä", "zxcvbnm,.?"];

/// A keyboard of `rows`, with space (if `space` is named) and erase keys on the last row.
pub fn keyboard(
    rows: &[&str],
    space: Option<&str>,
    erase: &str,
    on_key: impl Fn(Key) + Clone + 'static,
) -> gtk::Box {
    let keyboard = gtk::Box::new(gtk::Orientation::Vertical, 6);
    keyboard.add_css_class("keyboard");
    // Keys are laid out left to right whatever the language: they are Latin letters.
    keyboard.set_direction(gtk::TextDirection::Ltr);
    for row in rows {
        let line = gtk::Box::new(gtk::Orientation::Horizontal, 6);
        line.set_halign(gtk::Align::Center);
        for c in row.chars() {
            let button = gtk::Button::with_label(&c.to_string());
            button.add_css_class("key");
            let on_key = on_key.clone();
            button.connect_clicked(move |_| on_key(Key::Char(c)));
            line.append(&button);
        }
        keyboard.append(&line);
    }
    let last = gtk::Box::new(gtk::Orientation::Horizontal, 6);
    last.set_halign(gtk::Align::Center);
    if let Some(space) = space {
        let button = gtk::Button::with_label(space);
        button.add_css_class("key");
        button.add_css_class("space");
        let on_key = on_key.clone();
        button.connect_clicked(move |_| on_key(Key::Char(' ')));
        last.append(&button);
    }
    let button = gtk::Button::with_label(&format!("⌫ {erase}"));
    button.add_css_class("key");
    button.connect_clicked(move |_| on_key(Key::Erase));
    last.append(&button);
    keyboard.append(&last);
    keyboard
}
