//! Messages of the console to its people: the one-time sign-in link.

use askama::Template;
use cobro_domain::Locale;

use crate::messages::paragraphs_html;
use crate::{Email, MailError};

/// A sign-in link for a user of the console.
#[derive(Debug, Clone)]
pub struct SignInLink {
    pub locale: Locale,
    pub business: String,
    pub name: String,
    pub link: String,
    pub minutes: i64,
}

impl SignInLink {
    pub fn subject(&self) -> String {
        match self.locale {
            Locale::Es => format!("Tu enlace para entrar a cobro — {}", self.business),
            Locale::En => format!("Your sign-in link to cobro — {}", self.business),
        }
    }

    /// The message to `to` under its stable `key`.
    pub fn email(&self, from: &str, to: &str, key: &str) -> Result<Email, MailError> {
        let text = match self.locale {
            Locale::Es => SignInEs { m: self }.render()?,
            Locale::En => SignInEn { m: self }.render()?,
        };
        let html = paragraphs_html(self.locale, self.subject(), &text)?;
        Ok(Email {
            from: from.to_string(),
            to_name: self.name.clone(),
            to_email: to.to_string(),
            subject: self.subject(),
            text,
            html,
            key: key.to_string(),
        })
    }
}

#[derive(Template)]
#[template(path = "sign_in.es.txt")]
struct SignInEs<'a> {
    m: &'a SignInLink,
}

#[derive(Template)]
#[template(path = "sign_in.en.txt")]
struct SignInEn<'a> {
    m: &'a SignInLink,
}

/// The console's words, in the user's language (the templates hold the layout).
#[derive(Debug)]
pub struct Words {
    pub lang: &'static str,
    pub console: &'static str,
    pub home: &'static str,
    pub people: &'static str,
    pub sign_in: &'static str,
    pub sign_in_intro: &'static str,
    pub email: &'static str,
    pub send_link: &'static str,
    pub link_sent: &'static str,
    pub enter: &'static str,
    pub enter_intro: &'static str,
    pub link_gone: &'static str,
    pub ask_again: &'static str,
    pub sign_out: &'static str,
    pub signed_in_as: &'static str,
    pub queues: &'static str,
    pub unmatched: &'static str,
    pub escalated: &'static str,
    pub none: &'static str,
    pub forbidden: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub language: &'static str,
    pub add_person: &'static str,
    pub added: &'static str,
    pub end_sessions: &'static str,
    pub sessions_ended: &'static str,
    pub fix_below: &'static str,
    pub owner: &'static str,
    pub collector: &'static str,
    pub viewer: &'static str,
    pub other_language: &'static str,
    pub other_lang_code: &'static str,
    pub try_later: &'static str,
    pub not_found: &'static str,
    pub address_taken: &'static str,
}

pub const ES: Words = Words {
    lang: "es",
    console: "Consola de cobranza",
    home: "Inicio",
    people: "Personas",
    sign_in: "Entrar",
    sign_in_intro: "Escribe tu correo y te enviaremos un enlace para entrar. Sirve una vez, durante 15 minutos.",
    email: "Correo",
    send_link: "Enviarme el enlace",
    link_sent: "Si ese correo es de una persona de la consola, le enviamos un enlace para entrar. Revisa tu bandeja de entrada.",
    enter: "Entrar a la consola",
    enter_intro: "Para entrar, confirma con el botón.",
    link_gone: "Este enlace ya no sirve: se usó, venció o no es correcto. Pide otro.",
    ask_again: "Pedir otro enlace",
    sign_out: "Salir",
    signed_in_as: "Entraste como",
    queues: "Por atender",
    unmatched: "Pagos sin factura",
    escalated: "Facturas derivadas a cobranza",
    none: "nada",
    forbidden: "Tu rol no permite esto. No se cambió nada.",
    name: "Nombre",
    role: "Rol",
    language: "Idioma",
    add_person: "Agregar persona",
    added: "Persona agregada. Puede entrar pidiendo un enlace con su correo.",
    end_sessions: "Cerrar sus sesiones",
    sessions_ended: "Sesiones cerradas.",
    fix_below: "Revisa lo marcado abajo; no se guardó nada.",
    owner: "Dueño (todo)",
    collector: "Cobrador (facturas y clientes)",
    viewer: "Lector (solo ver)",
    other_language: "English",
    other_lang_code: "en",
    try_later: "Algo falló de nuestro lado. Intenta de nuevo en un momento.",
    not_found: "No encontramos eso.",
    address_taken: "ya hay una persona con ese correo",
};

pub const EN: Words = Words {
    lang: "en",
    console: "Collections console",
    home: "Home",
    people: "People",
    sign_in: "Sign in",
    sign_in_intro: "Enter your e-mail address and we will send you a link to sign in. It works once, for 15 minutes.",
    email: "E-mail",
    send_link: "Send me the link",
    link_sent: "If that address belongs to a person of the console, we sent it a link to sign in. Check your inbox.",
    enter: "Sign in to the console",
    enter_intro: "To sign in, confirm with the button.",
    link_gone: "This link no longer works: it was used, it expired or it is not right. Ask for another.",
    ask_again: "Ask for another link",
    sign_out: "Sign out",
    signed_in_as: "Signed in as",
    queues: "To do",
    unmatched: "Payments with no invoice",
    escalated: "Invoices sent to collection",
    none: "none",
    forbidden: "Your role does not allow this. Nothing was changed.",
    name: "Name",
    role: "Role",
    language: "Language",
    add_person: "Add person",
    added: "Person added. They sign in by asking for a link with their address.",
    end_sessions: "End their sessions",
    sessions_ended: "Sessions ended.",
    fix_below: "Check what is marked below; nothing was saved.",
    owner: "Owner (everything)",
    collector: "Collector (invoices and clients)",
    viewer: "Viewer (read only)",
    other_language: "Español",
    other_lang_code: "es",
    try_later: "Something failed on our side. Try again in a moment.",
    not_found: "We could not find that.",
    address_taken: "a person already signs in with this address",
};

impl Words {
    pub fn of(locale: Locale) -> &'static Words {
        match locale {
            Locale::Es => &ES,
            Locale::En => &EN,
        }
    }

    pub fn role(&self, role: impl std::borrow::Borrow<cobro_domain::Role>) -> &'static str {
        match role.borrow() {
            cobro_domain::Role::Owner => self.owner,
            cobro_domain::Role::Collector => self.collector,
            cobro_domain::Role::Viewer => self.viewer,
        }
    }

    /// A field's problem as the person reads it: the API's English message, or its
    /// Spanish for a Spanish console.
    pub fn field_error(&self, message: &str) -> String {
        if self.lang == "en" {
            return message.to_string();
        }
        match message {
            "must be a valid e-mail address" => {
                "escribe un correo válido, como nombre@empresa.cl".into()
            }
            "must not be empty" => "no puede quedar vacío".into(),
            "must be owner, collector or viewer" => "elige dueño, cobrador o lector".into(),
            "must be es or en" => "elige español o inglés".into(),
            m if m.starts_with("must be at most ") => format!(
                "debe tener a lo más {} caracteres",
                m.trim_start_matches("must be at most ")
                    .trim_end_matches(" characters")
            ),
            m if m.starts_with("must be one line of text") => {
                "debe ser una línea de texto, sin saltos ni caracteres de control".into()
            }
            m => m.to_string(),
        }
    }
}
