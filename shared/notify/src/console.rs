//! Messages of the console to its people: the one-time sign-in link.

use askama::Template;
use cobro_domain::Locale;

use crate::messages::text_email;
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
        text_email(
            self.locale,
            self.subject(),
            text,
            (from, self.name.clone(), to),
            key,
        )
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
    pub access: &'static str,
    pub disabled: &'static str,
    pub change_role: &'static str,
    pub disable: &'static str,
    pub enable: &'static str,
    pub role_changed: &'static str,
    pub person_disabled: &'static str,
    pub person_enabled: &'static str,
    pub last_owner: &'static str,
    pub fix_below: &'static str,
    pub owner: &'static str,
    pub collector: &'static str,
    pub viewer: &'static str,
    pub other_language: &'static str,
    pub other_lang_code: &'static str,
    pub try_later: &'static str,
    pub not_found: &'static str,
    pub address_taken: &'static str,
    pub payment_duplicate: &'static str,
    pub not_possible: &'static str,
    pub invoice: &'static str,
    pub client: &'static str,
    pub status: &'static str,
    pub amount_due: &'static str,
    pub due: &'static str,
    pub total: &'static str,
    pub subtotal: &'static str,
    pub description: &'static str,
    pub quantity: &'static str,
    pub timeline: &'static str,
    pub when: &'static str,
    pub what: &'static str,
    pub source: &'static str,
    pub note: &'static str,
    pub who: &'static str,
    pub activity: &'static str,
    pub activity_intro: &'static str,
    pub log: &'static str,
    pub reports: &'static str,
    pub log_intro: &'static str,
    pub no_activity: &'static str,
    pub on_what: &'static str,
    pub detail: &'static str,
    pub messages: &'static str,
    pub no_messages: &'static str,
    pub record_payment: &'static str,
    pub amount: &'static str,
    pub method: &'static str,
    pub reference: &'static str,
    pub cash: &'static str,
    pub transfer: &'static str,
    pub cheque: &'static str,
    pub card_terminal: &'static str,
    pub pause: &'static str,
    pub until: &'static str,
    pub reason: &'static str,
    pub resume: &'static str,
    pub paused_until: &'static str,
    pub find_invoice: &'static str,
    pub find_hint: &'static str,
    pub open: &'static str,
    pub done_paid: &'static str,
    pub done_paused: &'static str,
    pub done_resumed: &'static str,
    pub next_action: &'static str,
    pub invoices: &'static str,
    pub filter: &'static str,
    pub any: &'static str,
    pub owed: &'static str,
    pub overdue: &'static str,
    pub current: &'static str,
    pub days_1_30: &'static str,
    pub days_31_60: &'static str,
    pub days_61_90: &'static str,
    pub days_90: &'static str,
    pub currency: &'static str,
    pub due_from: &'static str,
    pub due_to: &'static str,
    pub search: &'static str,
    pub sort: &'static str,
    pub sort_due: &'static str,
    pub sort_due_desc: &'static str,
    pub sort_amount: &'static str,
    pub sort_amount_desc: &'static str,
    pub export_csv: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub no_invoices: &'static str,
    pub days_overdue: &'static str,
    pub filters_dropped: &'static str,
    pub number: &'static str,
    pub disputed: &'static str,
    pub over_90: &'static str,
    pub void: &'static str,
    pub void_reason: &'static str,
    pub message_to_client: &'static str,
    pub extend: &'static str,
    pub new_due: &'static str,
    pub pay_links: &'static str,
    pub new_link: &'static str,
    pub new_link_made: &'static str,
    pub revoke_links: &'static str,
    pub done_voided: &'static str,
    pub done_extended: &'static str,
    pub done_promised: &'static str,
    pub done_planned: &'static str,
    pub arrangements: &'static str,
    pub promise: &'static str,
    pub promise_date: &'static str,
    pub promise_amount: &'static str,
    pub plan: &'static str,
    pub plan_count: &'static str,
    pub plan_first: &'static str,
    pub done_revoked: &'static str,
    pub received: &'static str,
    pub named_as: &'static str,
    pub reason_unknown: &'static str,
    pub reason_currency: &'static str,
    pub suggested: &'static str,
    pub no_suggestions: &'static str,
    pub other_invoice: &'static str,
    pub apply: &'static str,
    pub clue_named: &'static str,
    pub clue_amount: &'static str,
    pub clue_client: &'static str,
    pub done_applied: &'static str,
    pub pick_invoice: &'static str,
    pub no_such_invoice: &'static str,
    pub already_applied: &'static str,
    pub queue_empty: &'static str,
    pub more_waiting: &'static str,
    pub settings: &'static str,
    pub api_keys: &'static str,
    pub key_name: &'static str,
    pub make_key: &'static str,
    pub key_made: &'static str,
    pub key_revoked: &'static str,
    pub revoke: &'static str,
    pub created: &'static str,
    pub revoked_on: &'static str,
    pub active: &'static str,
    pub terms: &'static str,
    pub terms_note: &'static str,
    pub pauses_ending: &'static str,
    pub broken_promises: &'static str,
    pub broken_plans: &'static str,
    pub overdue_deposits: &'static str,
    pub since: &'static str,
    pub clients: &'static str,
    pub new_client: &'static str,
    pub tier: &'static str,
    pub score: &'static str,
    pub owes: &'static str,
    pub overdue_now: &'static str,
    pub credit: &'static str,
    pub budget: &'static str,
    pub credit_limit: &'static str,
    pub available: &'static str,
    pub contact: &'static str,
    pub phone: &'static str,
    pub timezone: &'static str,
    pub tax_id: &'static str,
    pub country: &'static str,
    pub standing: &'static str,
    pub deposit: &'static str,
    pub deposit_active: &'static str,
    pub deposit_pending: &'static str,
    pub deposit_overdue: &'static str,
    pub save: &'static str,
    pub limit_hint: &'static str,
    pub create_client: &'static str,
    pub no_clients: &'static str,
    pub all_tiers: &'static str,
    pub their_invoices: &'static str,
    pub done_client: &'static str,
    pub done_limit: &'static str,
    pub done_budget: &'static str,
    pub tax_id_taken: &'static str,
    pub no_history: &'static str,
    pub new_invoice: &'static str,
    pub lines_legend: &'static str,
    pub line_n: &'static str,
    pub unit_amount: &'static str,
    pub tax_rate: &'static str,
    pub due_date: &'static str,
    pub send_now: &'static str,
    pub create_invoice: &'static str,
    pub choose_client: &'static str,
    pub done_created: &'static str,
    pub nothing_queued: &'static str,
    pub pause_ends_by: &'static str,
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
    escalated: "Derivadas a cobranza, aún por cobrar",
    none: "nada",
    forbidden: "Tu rol no permite esto. No se cambió nada.",
    name: "Nombre",
    role: "Rol",
    language: "Idioma",
    add_person: "Agregar persona",
    added: "Persona agregada. Puede entrar pidiendo un enlace con su correo.",
    end_sessions: "Cerrar sus sesiones",
    sessions_ended: "Sesiones cerradas.",
    access: "Acceso",
    disabled: "Sin acceso",
    change_role: "Cambiar rol",
    disable: "Quitar acceso",
    enable: "Devolver acceso",
    role_changed: "Rol cambiado.",
    person_disabled: "Acceso quitado: sus sesiones se cerraron y ningún enlace la hace entrar.",
    person_enabled: "Acceso devuelto: puede pedir un enlace para entrar.",
    last_owner: "El negocio necesita al menos un dueño que pueda entrar: haz dueña a otra persona primero.",
    fix_below: "Revisa lo marcado abajo; no se guardó nada.",
    owner: "Dueño (todo)",
    collector: "Cobrador (facturas y clientes)",
    viewer: "Lector (solo ver)",
    other_language: "English",
    other_lang_code: "en",
    try_later: "Algo falló de nuestro lado. Intenta de nuevo en un momento.",
    not_found: "No encontramos eso.",
    address_taken: "ya hay una persona con ese correo",
    payment_duplicate: "ya hay un pago con esa referencia en esta factura",
    not_possible: "No es posible en esta factura ahora. No se cambió nada.",
    invoice: "Factura",
    client: "Cliente",
    status: "Estado",
    amount_due: "Saldo por cobrar",
    due: "Vence",
    total: "Total",
    subtotal: "Subtotal",
    description: "Detalle",
    quantity: "Cantidad",
    timeline: "Historia",
    when: "Cuándo",
    what: "Qué",
    who: "Quién",
    activity: "Actividad",
    activity_intro: "Lo que hicieron en esta factura las personas y claves API del negocio, y el cliente.",
    log: "Registro",
    reports: "Informes",
    log_intro: "Todo lo que hicieron las personas y claves API del negocio, y los clientes en su página de pago, lo más reciente primero.",
    no_activity: "Nada registrado todavía.",
    on_what: "Sobre",
    detail: "Detalle",
    source: "Origen",
    note: "Nota interna",
    messages: "Mensajes al cliente y avisos",
    no_messages: "Todavía ninguno.",
    record_payment: "Registrar un pago",
    amount: "Monto",
    method: "Medio",
    reference: "Referencia (opcional)",
    cash: "Efectivo",
    transfer: "Transferencia",
    cheque: "Cheque",
    card_terminal: "Tarjeta (terminal)",
    pause: "Pausar la cobranza",
    until: "Hasta el",
    reason: "Motivo (no se envía al cliente)",
    resume: "Reanudar la cobranza ahora",
    paused_until: "En pausa hasta el",
    find_invoice: "Buscar una factura",
    find_hint: "Su número, un detalle, su id (inv_…) o su referencia de pago (RF…): con el id o la referencia exactos se abre.",
    open: "Abrir",
    done_paid: "Pago registrado.",
    done_paused: "Cobranza en pausa.",
    done_resumed: "Cobranza reanudada.",
    next_action: "Próxima acción",
    invoices: "Facturas",
    filter: "Filtrar",
    any: "Todos",
    owed: "Por cobrar (pendientes, en parte, derivadas, en disputa)",
    overdue: "Atraso",
    current: "Al día (no vencidas)",
    days_1_30: "1 a 30 días",
    days_31_60: "31 a 60 días",
    days_61_90: "61 a 90 días",
    days_90: "Más de 90 días",
    currency: "Moneda",
    due_from: "Vence desde",
    due_to: "Vence hasta",
    search: "Buscar (número, detalle o referencia)",
    sort: "Orden",
    sort_due: "Vencimiento, la más antigua primero",
    sort_due_desc: "Vencimiento, la más reciente primero",
    sort_amount: "Saldo, el menor primero (por moneda)",
    sort_amount_desc: "Saldo, el mayor primero (por moneda)",
    export_csv: "Descargar esta lista (CSV para Excel)",
    next_page: "Página siguiente",
    first_page: "Volver a la primera página",
    no_invoices: "Ninguna factura cumple estos filtros.",
    days_overdue: "Días de atraso",
    filters_dropped: "No se aplicaron los filtros marcados abajo; la lista muestra el resto.",
    number: "Número",
    disputed: "Facturas en disputa",
    over_90: "Vencidas hace más de 90 días",
    void: "Anular la factura",
    void_reason: "Motivo (interno, no se envía)",
    message_to_client: "Mensaje para el cliente (opcional)",
    extend: "Dar más plazo",
    new_due: "Nueva fecha de vencimiento",
    pay_links: "Enlaces de pago",
    new_link: "Crear un enlace de pago nuevo",
    new_link_made: "Enlace de pago nuevo (se muestra solo esta vez):",
    revoke_links: "Anular todos sus enlaces de pago",
    done_voided: "Factura anulada. Lo pagado queda como crédito del cliente.",
    done_extended: "Nuevo vencimiento registrado; se le avisó al cliente.",
    done_promised: "Promesa de pago registrada: la cobranza espera hasta su fecha.",
    done_planned: "Plan de pagos acordado: se le envió al cliente.",
    arrangements: "Promesas y planes",
    promise: "Registrar una promesa de pago",
    promise_date: "Pagará a más tardar el",
    promise_amount: "Monto (vacío: todo el saldo)",
    plan: "Acordar un plan de pagos",
    plan_count: "Número de cuotas mensuales",
    plan_first: "Vencimiento de la primera cuota",
    done_revoked: "Enlaces de pago anulados: ya no abren la factura.",
    received: "Recibido",
    named_as: "Indicaba",
    reason_unknown: "No indica una factura conocida",
    reason_currency: "Viene en otra moneda que la factura que indica",
    suggested: "Facturas probables",
    no_suggestions: "Sin sugerencias: escribe la factura abajo.",
    other_invoice: "Otra factura (su id inv_… o su referencia RF…)",
    apply: "Aplicar el pago",
    clue_named: "el pago la nombra",
    clue_amount: "debe justo ese monto",
    clue_client: "mismo cliente que la factura indicada",
    done_applied: "Pago aplicado a la factura.",
    pick_invoice: "Elige una de las facturas probables o escribe otra. No se aplicó nada.",
    no_such_invoice: "No encontramos esa factura. No se aplicó nada.",
    already_applied: "Ese pago ya se había aplicado. No se cambió nada.",
    queue_empty: "No hay pagos esperando.",
    more_waiting: "Hay más pagos esperando: aplica estos y vuelve a cargar.",
    settings: "Ajustes",
    api_keys: "Llaves de la API",
    key_name: "Nombre de la llave (para qué es)",
    make_key: "Crear una llave",
    key_made: "Llave creada. Cópiala ahora: no se vuelve a mostrar (solo se guarda su huella).",
    key_revoked: "Llave anulada: ya no abre la API.",
    revoke: "Anular",
    created: "Creada",
    revoked_on: "Anulada el",
    active: "Activa",
    terms: "Condiciones vigentes",
    terms_note: "Las de cada factura nueva que no diga otras. Se cambian en la configuración del despliegue (COBRO_DEFAULT_TERMS).",
    pauses_ending: "Pausas que terminan esta semana",
    broken_promises: "Promesas incumplidas en los últimos 7 días",
    broken_plans: "Planes de pago incumplidos en los últimos 7 días",
    overdue_deposits: "Depósitos vencidos sin pagar",
    since: "Desde",
    clients: "Clientes",
    new_client: "Nuevo cliente",
    tier: "Categoría",
    score: "Puntaje",
    owes: "Debe",
    overdue_now: "Vencido",
    credit: "Saldo a favor",
    budget: "Presupuesto",
    credit_limit: "Límite de crédito",
    available: "Disponible",
    contact: "Contacto",
    phone: "Teléfono",
    timezone: "Zona horaria",
    tax_id: "RUT o identificación tributaria",
    country: "País (CL, MX, CO, AR, BR…)",
    standing: "Comportamiento de pago",
    deposit: "Depósito",
    deposit_active: "Al día",
    deposit_pending: "Debe su depósito",
    deposit_overdue: "Depósito vencido",
    save: "Guardar",
    limit_hint: "vacío: sin límite",
    create_client: "Crear el cliente",
    no_clients: "Ningún cliente cumple estos filtros.",
    all_tiers: "Todas",
    their_invoices: "Sus facturas",
    done_client: "Cliente creado.",
    done_limit: "Límite de crédito guardado.",
    done_budget: "Presupuesto guardado.",
    tax_id_taken: "Otro cliente ya tiene esta identificación tributaria",
    no_history: "Sin historial todavía",
    new_invoice: "Nueva factura",
    lines_legend: "Líneas (las vacías no se cuentan)",
    line_n: "Línea",
    unit_amount: "Precio unitario",
    tax_rate: "Impuesto, % (vacío: sin impuesto)",
    due_date: "Vence el",
    send_now: "Enviarla ahora al cliente por correo",
    create_invoice: "Crear la factura",
    choose_client: "Elige un cliente",
    done_created: "Factura creada.",
    nothing_queued: "No hay nada en esta cola.",
    pause_ends_by: "En pausa que termina a más tardar el",
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
    escalated: "Sent to collection, still owed",
    none: "none",
    forbidden: "Your role does not allow this. Nothing was changed.",
    name: "Name",
    role: "Role",
    language: "Language",
    add_person: "Add person",
    added: "Person added. They sign in by asking for a link with their address.",
    end_sessions: "End their sessions",
    sessions_ended: "Sessions ended.",
    access: "Access",
    disabled: "No access",
    change_role: "Change role",
    disable: "Take access away",
    enable: "Give access back",
    role_changed: "Role changed.",
    person_disabled: "Access taken away: their sessions ended and no link signs them in.",
    person_enabled: "Access given back: they may ask for a sign-in link.",
    last_owner: "The business needs at least one owner who can sign in: make another person owner first.",
    fix_below: "Check what is marked below; nothing was saved.",
    owner: "Owner (everything)",
    collector: "Collector (invoices and clients)",
    viewer: "Viewer (read only)",
    other_language: "Español",
    other_lang_code: "es",
    try_later: "Something failed on our side. Try again in a moment.",
    not_found: "We could not find that.",
    address_taken: "a person already signs in with this address",
    payment_duplicate: "a payment with this reference is already on this invoice",
    not_possible: "Not possible on this invoice now. Nothing was changed.",
    invoice: "Invoice",
    client: "Client",
    status: "Status",
    amount_due: "Amount due",
    due: "Due",
    total: "Total",
    subtotal: "Subtotal",
    description: "Description",
    quantity: "Quantity",
    timeline: "History",
    when: "When",
    what: "What",
    who: "Who",
    activity: "Activity",
    activity_intro: "What the business's people and API keys, and the client, did on this invoice.",
    log: "Log",
    reports: "Reports",
    log_intro: "Everything the business's people and API keys did, and clients on their pay page, newest first.",
    no_activity: "Nothing recorded yet.",
    on_what: "On",
    detail: "Detail",
    source: "Source",
    note: "Internal note",
    messages: "Messages and notices",
    no_messages: "None yet.",
    record_payment: "Record a payment",
    amount: "Amount",
    method: "Method",
    reference: "Reference (optional)",
    cash: "Cash",
    transfer: "Transfer",
    cheque: "Cheque",
    card_terminal: "Card terminal",
    pause: "Pause the chase",
    until: "Until",
    reason: "Reason (never sent to the client)",
    resume: "Resume the chase now",
    paused_until: "Paused until",
    find_invoice: "Find an invoice",
    find_hint: "Its number, a description, its id (inv_…) or its payment reference (RF…): an exact id or reference opens it.",
    open: "Open",
    done_paid: "Payment recorded.",
    done_paused: "Chase paused.",
    done_resumed: "Chase resumed.",
    next_action: "Next action",
    invoices: "Invoices",
    filter: "Filter",
    any: "Any",
    owed: "Owed (open, partially paid, escalated, disputed)",
    overdue: "Overdue",
    current: "Current (not yet due)",
    days_1_30: "1 to 30 days",
    days_31_60: "31 to 60 days",
    days_61_90: "61 to 90 days",
    days_90: "Over 90 days",
    currency: "Currency",
    due_from: "Due from",
    due_to: "Due until",
    search: "Search (number, description or reference)",
    sort: "Sort",
    sort_due: "Due date, oldest first",
    sort_due_desc: "Due date, latest first",
    sort_amount: "Amount due, smallest first (per currency)",
    sort_amount_desc: "Amount due, largest first (per currency)",
    export_csv: "Download this list (CSV)",
    next_page: "Next page",
    first_page: "Back to the first page",
    no_invoices: "No invoice matches these filters.",
    days_overdue: "Days overdue",
    filters_dropped: "The filters marked below were not applied; the list shows the rest.",
    number: "Number",
    disputed: "Disputed invoices",
    over_90: "Overdue by more than 90 days",
    void: "Void the invoice",
    void_reason: "Reason (internal, never sent)",
    message_to_client: "Message to the client (optional)",
    extend: "Give more time",
    new_due: "New due date",
    pay_links: "Pay links",
    new_link: "Make a new pay link",
    new_link_made: "New pay link (shown this once):",
    revoke_links: "Revoke all its pay links",
    done_voided: "Invoice voided. What was paid is the client's credit.",
    done_extended: "New due date recorded; the client was told.",
    done_promised: "Promise to pay recorded: the chase waits until its date.",
    done_planned: "Payment plan agreed: the client was sent it.",
    arrangements: "Promises and plans",
    promise: "Record a promise to pay",
    promise_date: "Will pay by",
    promise_amount: "Amount (empty: all that is due)",
    plan: "Agree a payment plan",
    plan_count: "Number of monthly instalments",
    plan_first: "First instalment due",
    done_revoked: "Pay links revoked: they no longer open the invoice.",
    received: "Received",
    named_as: "It named",
    reason_unknown: "It names no invoice we know",
    reason_currency: "In another currency than the invoice it names",
    suggested: "Likely invoices",
    no_suggestions: "No suggestions: type the invoice below.",
    other_invoice: "Another invoice (its id inv_… or its reference RF…)",
    apply: "Apply the payment",
    clue_named: "the payment names it",
    clue_amount: "owes exactly that amount",
    clue_client: "same client as the invoice named",
    done_applied: "Payment applied to the invoice.",
    pick_invoice: "Pick one of the likely invoices or type another. Nothing was applied.",
    no_such_invoice: "We found no such invoice. Nothing was applied.",
    already_applied: "That payment was already applied. Nothing changed.",
    queue_empty: "No payments waiting.",
    more_waiting: "More payments are waiting: apply these and reload.",
    settings: "Settings",
    api_keys: "API keys",
    key_name: "Key name (what it is for)",
    make_key: "Make a key",
    key_made: "Key made. Copy it now: it is not shown again (only its fingerprint is kept).",
    key_revoked: "Key revoked: it no longer opens the API.",
    revoke: "Revoke",
    created: "Made",
    revoked_on: "Revoked on",
    active: "Active",
    terms: "Terms in effect",
    terms_note: "Those of every new invoice that names no others. They are set in the deployment's configuration (COBRO_DEFAULT_TERMS).",
    pauses_ending: "Pauses that end this week",
    broken_promises: "Promises broken in the last 7 days",
    broken_plans: "Payment plans broken in the last 7 days",
    overdue_deposits: "Deposits overdue, still owed",
    since: "Since",
    clients: "Clients",
    new_client: "New client",
    tier: "Tier",
    score: "Score",
    owes: "Owes",
    overdue_now: "Overdue",
    credit: "Credit",
    budget: "Budget",
    credit_limit: "Credit limit",
    available: "Available",
    contact: "Contact",
    phone: "Phone",
    timezone: "Time zone",
    tax_id: "Tax id",
    country: "Country (CL, MX, CO, AR, BR…)",
    standing: "Payment standing",
    deposit: "Deposit",
    deposit_active: "In good order",
    deposit_pending: "Owes their deposit",
    deposit_overdue: "Deposit overdue",
    save: "Save",
    limit_hint: "empty: no limit",
    create_client: "Create the client",
    no_clients: "No client matches these filters.",
    all_tiers: "All",
    their_invoices: "Their invoices",
    done_client: "Client created.",
    done_limit: "Credit limit saved.",
    done_budget: "Budget saved.",
    tax_id_taken: "Another client already has this tax id",
    no_history: "No history yet",
    new_invoice: "New invoice",
    lines_legend: "Lines (empty ones do not count)",
    line_n: "Line",
    unit_amount: "Unit price",
    tax_rate: "Tax, % (empty: no tax)",
    due_date: "Due on",
    send_now: "E-mail it to the client now",
    create_invoice: "Create the invoice",
    choose_client: "Choose a client",
    done_created: "Invoice created.",
    nothing_queued: "Nothing in this queue.",
    pause_ends_by: "Paused, the pause ending by",
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
            m if m.starts_with("must be at most ") && m.ends_with(" days") => format!(
                "debe ser a lo más {} días",
                m.trim_start_matches("must be at most ")
                    .trim_end_matches(" days")
            ),
            m if m.starts_with("must be at most ")
                && m["must be at most ".len()..].parse::<u64>().is_ok() =>
            {
                format!("debe ser a lo más {}", &m["must be at most ".len()..])
            }
            m if m.starts_with("must have at most ") && m.ends_with(" reminders") => format!(
                "puede tener a lo más {} recordatorios",
                m.trim_start_matches("must have at most ")
                    .trim_end_matches(" reminders")
            ),
            "each must be between -90 and 365 days from the due date" => {
                "cada uno debe estar entre -90 y 365 días desde el vencimiento".into()
            }
            "must be in ascending order, without repeats" => {
                "deben ir de menor a mayor, sin repetir".into()
            }
            "a percentage must be at most 100" => "un porcentaje es a lo más 100".into(),
            "must be more than 0 and less than 100" => "debe ser más de 0 y menos de 100".into(),
            "must be at least 1 day" => "debe ser al menos 1 día".into(),
            "must come after the last reminder" => {
                "debe ser después del último recordatorio".into()
            }
            "must be after the start" => "debe ser después del inicio".into(),
            "must name at least one day" => "elige al menos un día".into(),
            "has more decimals than the currency allows" => {
                "tiene más decimales de los que admite la moneda".into()
            }
            "may contain only digits, spaces and + - ( ) ." => {
                "solo puede tener dígitos, espacios y + - ( ) .".into()
            }
            "must be `es` or `en`" => "elige español o inglés".into(),
            "must be an IANA time zone such as America/Santiago" => {
                "escribe una zona horaria IANA, como America/Santiago".into()
            }
            "must be a whole number" => "escribe un número entero".into(),
            "must be whole numbers separated by commas, like -3, 0, 7" => {
                "escribe números enteros separados por comas, como -3, 0, 7".into()
            }
            "must be a time (HH:MM)" => "escribe una hora (HH:MM)".into(),
            "must not be in the future" => "no puede ser un día futuro".into(),
            "must be owner, collector or viewer" => "elige dueño, cobrador o lector".into(),
            "must be es or en" => "elige español o inglés".into(),
            "must be at most 1000000000 with at most 6 decimals" => {
                "debe ser a lo más 1000000000, con a lo más 6 decimales".into()
            }
            "must be at most three years after the issue date" => {
                "debe ser a lo más tres años después de la emisión".into()
            }
            m if m.starts_with("must be between ") && m.contains(" and ") => {
                let range = m.trim_start_matches("must be between ");
                let (low, high) = range.split_once(" and ").unwrap_or((range, ""));
                format!("debe estar entre {low} y {high}")
            }
            m if m.ends_with(" (the amount due not already promised)") => format!(
                "no puede ser más de {} (lo que se debe y no está ya prometido)",
                m.trim_start_matches("must be at most ")
                    .trim_end_matches(" (the amount due not already promised)")
            ),
            "must be greater than zero" => "debe ser mayor que cero".into(),
            m if m.starts_with("must be within ") && m.contains(" days, by ") => {
                let rest = m.trim_start_matches("must be within ");
                let (days, by) = rest.split_once(" days, by ").unwrap_or((rest, ""));
                format!(
                    "debe ser dentro de {days} días, a más tardar el {}",
                    by.trim_end_matches(" at the latest")
                )
            }
            m if m.starts_with("must be by ") && m.ends_with(" at the latest") => format!(
                "debe ser a más tardar el {}",
                m.trim_start_matches("must be by ")
                    .trim_end_matches(" at the latest")
            ),
            m if m.starts_with("cannot split ") => format!(
                "no se puede dividir {}",
                m.trim_start_matches("cannot split ")
                    .replace(" into ", " en ")
                    .replace(" instalments", " cuotas")
            ),
            m if m.starts_with("must be at most ") => format!(
                "debe tener a lo más {} caracteres",
                m.trim_start_matches("must be at most ")
                    .trim_end_matches(" characters")
            ),
            m if m.starts_with("must be a number") => {
                "escribe un número, como 49990 o 1500.50 (sin $ ni puntos de miles)".into()
            }
            "must be a date (YYYY-MM-DD)" => "escribe una fecha (AAAA-MM-DD)".into(),
            "is not a client id (cli_…)" | "is no client of this business" => {
                "elige un cliente de la lista".into()
            }
            "must be current, 1-30, 31-60, 61-90 or 90+" => "elige un tramo de atraso".into(),
            "is not an ISO 4217 currency code" => {
                "escribe un código de moneda ISO 4217, como CLP o USD".into()
            }
            "must not be before due_from" => "no puede ser antes de «vence desde»".into(),
            m if m.starts_with("must be after the current due date, ") => format!(
                "debe ser después del vencimiento actual, {}",
                m.trim_start_matches("must be after the current due date, ")
            ),
            "must not be in the past" => "no puede ser un día pasado".into(),
            m if m.starts_with("the invoice is in ") => m
                .replace("the invoice is in ", "la factura está en ")
                .replace(", the payment in ", " y el pago en "),
            "is too far in the future" => "está demasiado lejos en el futuro".into(),
            m if m.starts_with("must be one of due_date") => "elige un orden de la lista".into(),
            m if m.starts_with("must be one or more of") => "elige un estado de la lista".into(),
            "must be after today" => "debe ser un día después de hoy".into(),
            "must be a whole number of instalments" => "escribe un número entero de cuotas".into(),
            "must be a client id (cli_…)" => "elige un cliente de la lista".into(),
            m if m.starts_with("unknown currency code") => "elige una moneda de la lista".into(),
            "must have at least one line" => "escribe al menos una línea".into(),
            m if m.starts_with("must have at most ") && m.ends_with(" lines") => format!(
                "puede tener a lo más {} líneas",
                m.trim_start_matches("must have at most ")
                    .trim_end_matches(" lines")
            ),
            "must not be negative" => "no puede ser negativo".into(),
            m if m.starts_with("must be at least ") && m.ends_with(" (already invoiced)") => {
                format!(
                    "debe ser al menos {} (lo ya facturado)",
                    m.trim_start_matches("must be at least ")
                        .trim_end_matches(" (already invoiced)")
                )
            }
            m if m.starts_with("must be ")
                && m.ends_with(", the currency of this client's other amounts") =>
            {
                format!(
                    "debe ser {}, la moneda de los otros montos del cliente",
                    m.trim_start_matches("must be ")
                        .trim_end_matches(", the currency of this client's other amounts")
                )
            }
            m if m.contains(" has more decimals than ") => {
                let (amount, rest) = m.split_once(" has more decimals than ").unwrap_or((m, ""));
                let currency = rest.split(' ').next().unwrap_or_default();
                format!("{amount} tiene más decimales de los que admite {currency}")
            }
            "quantity × unit amount is too large" => {
                "cantidad × precio es demasiado grande".into()
            }
            "must be a percentage between 0 and 100" => {
                "escribe un porcentaje entre 0 y 100".into()
            }
            "is required (or days_until_due)" => "elige el día de vencimiento".into(),
            "must not be before the issue date" => "no puede ser antes de la emisión".into(),
            "the invoice total must be greater than zero" | "the total is too large" => {
                "el total de la factura debe ser mayor que cero y no desmesurado".into()
            }
            "no invoice with this id" => "no hay ninguna factura con ese identificador".into(),
            "no client with this id" => "no hay ningún cliente con ese identificador".into(),
            "give an invoice or a client, not both" => {
                "elige una factura o un cliente, no ambos".into()
            }
            "must be within a year" => "debe ser dentro de un año".into(),
            "is required: it is kept in the invoice's history" => {
                "escribe el motivo: queda en la historia de la factura".into()
            }
            m if m.starts_with("must be one line of text") => {
                "debe ser una línea de texto, sin saltos ni caracteres de control".into()
            }
            m => m.to_string(),
        }
    }
}

/// A day of the week, short, in `l`.
pub fn weekday(d: chrono::Weekday, l: Locale) -> &'static str {
    use chrono::Weekday::*;
    let (es, en) = match d {
        Mon => ("lun", "Mon"),
        Tue => ("mar", "Tue"),
        Wed => ("mié", "Wed"),
        Thu => ("jue", "Thu"),
        Fri => ("vie", "Fri"),
        Sat => ("sáb", "Sat"),
        Sun => ("dom", "Sun"),
    };
    if l == Locale::Es { es } else { en }
}

/// The words of a dunning policy: the terms in effect (settings, a client's page) and the
/// form that changes a client's.
pub struct TermsWords {
    pub title: &'static str,
    pub intro: &'static str,
    pub in_effect: &'static str,
    pub in_effect_intro: &'static str,
    pub edit: &'static str,
    pub done: &'static str,
    pub grace_days: &'static str,
    pub reminders: &'static str,
    pub reminders_hint: &'static str,
    pub late_fee: &'static str,
    pub discount: &'static str,
    pub escalate_after: &'static str,
    pub hours: &'static str,
    pub promise_max_days: &'static str,
    pub max_open_promises: &'static str,
    pub plan_max_instalments: &'static str,
    pub plan_max_days_overdue: &'static str,
    pub plan_needs_approval: &'static str,
    pub business_default: &'static str,
    pub custom: &'static str,
    pub none: &'static str,
    pub percent: &'static str,
    pub fixed: &'static str,
    pub once: &'static str,
    pub monthly: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub value: &'static str,
    pub recurrence: &'static str,
    pub cap: &'static str,
    pub notice_days: &'static str,
    pub discount_percent: &'static str,
    pub within_days: &'static str,
    pub start: &'static str,
    pub end: &'static str,
    pub days: &'static str,
    /// After a label whose value is a number of days.
    pub in_days: &'static str,
}

static TERMS_ES: TermsWords = TermsWords {
    title: "Cambiar datos del cliente",
    intro: "Un campo de las condiciones que quede vacío sigue la política del negocio.",
    in_effect: "Condiciones de cobranza",
    in_effect_intro: "Las que tendría una factura nueva: las del negocio, con los cambios propios de este cliente y los de su categoría actual.",
    edit: "Cambiar datos y condiciones",
    done: "Datos del cliente guardados.",
    grace_days: "Días de gracia",
    reminders: "Recordatorios (días desde el vencimiento)",
    reminders_hint: "separados por comas, como -3, 0, 7",
    late_fee: "Recargo por atraso",
    discount: "Descuento por pronto pago",
    escalate_after: "Derivar a cobranza tras",
    hours: "Horario de envío",
    promise_max_days: "Promesa de pago, a lo más",
    max_open_promises: "Promesas abiertas a la vez, a lo más",
    plan_max_instalments: "Cuotas que el cliente puede elegir",
    plan_max_days_overdue: "Plan de pago con atraso de a lo más",
    plan_needs_approval: "El plan pedido por el cliente requiere aprobación",
    business_default: "La del negocio",
    custom: "Propio",
    none: "Ninguno",
    percent: "Porcentaje",
    fixed: "Monto fijo",
    once: "Una vez",
    monthly: "Cada mes",
    yes: "Sí",
    no: "No",
    value: "Valor (monto o %)",
    recurrence: "Cada cuánto",
    cap: "Tope",
    notice_days: "Aviso previo (días)",
    discount_percent: "Porcentaje de descuento",
    within_days: "Si paga dentro de (días)",
    start: "Desde (HH:MM)",
    end: "Hasta (HH:MM)",
    days: "Días",
    in_days: "(días)",
};

static TERMS_EN: TermsWords = TermsWords {
    title: "Edit the client",
    intro: "A terms field left empty follows the business's policy.",
    in_effect: "Collection terms",
    in_effect_intro: "What a new invoice would get: the business's, with this client's own changes and their current tier's.",
    edit: "Edit details and terms",
    done: "Client details saved.",
    grace_days: "Grace days",
    reminders: "Reminders (days from the due date)",
    reminders_hint: "separated by commas, like -3, 0, 7",
    late_fee: "Late fee",
    discount: "Early-payment discount",
    escalate_after: "Escalate after",
    hours: "Sending hours",
    promise_max_days: "A promise to pay, at most",
    max_open_promises: "Open promises at once, at most",
    plan_max_instalments: "Instalments a client may choose",
    plan_max_days_overdue: "A payment plan while overdue at most",
    plan_needs_approval: "A plan the client asks for needs approval",
    business_default: "The business's",
    custom: "Its own",
    none: "None",
    percent: "Percentage",
    fixed: "Fixed amount",
    once: "Once",
    monthly: "Monthly",
    yes: "Yes",
    no: "No",
    value: "Value (amount or %)",
    recurrence: "How often",
    cap: "Cap",
    notice_days: "Notice (days)",
    discount_percent: "Discount percentage",
    within_days: "If paid within (days)",
    start: "From (HH:MM)",
    end: "Until (HH:MM)",
    days: "Days",
    in_days: "(days)",
};

impl TermsWords {
    pub fn of(l: Locale) -> &'static TermsWords {
        match l {
            Locale::Es => &TERMS_ES,
            Locale::En => &TERMS_EN,
        }
    }
}

/// The terms in effect, as the settings page lists them: (what, as it is).
pub fn terms_in_effect(t: &cobro_domain::Terms, l: Locale) -> Vec<(&'static str, String)> {
    use cobro_domain::invoice::{LateFeeKind, Recurrence};
    let es = l == Locale::Es;
    let tw = TermsWords::of(l);
    let days = |n: i64| match (es, n.abs() == 1) {
        (true, true) => format!("{n} día"),
        (true, false) => format!("{n} días"),
        (false, true) => format!("{n} day"),
        (false, false) => format!("{n} days"),
    };
    let none = tw.none.to_lowercase();
    let offsets = t
        .reminder_offsets
        .iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let fee = t.late_fee.as_ref().map_or(none.clone(), |f| {
        let what = match f.kind {
            LateFeeKind::Percent => format!("{} %", f.value),
            LateFeeKind::Fixed => f.value.to_string(),
        };
        let when = match (f.recurrence, es) {
            (Recurrence::Once, true) => "una vez",
            (Recurrence::Monthly, true) => "cada mes",
            (Recurrence::Once, false) => "once",
            (Recurrence::Monthly, false) => "monthly",
        };
        format!("{what}, {when}")
    });
    let discount = t.early_payment_discount.as_ref().map_or(none, |d| {
        if es {
            format!(
                "{} % si paga dentro de {}",
                d.percent,
                days(i64::from(d.within_days))
            )
        } else {
            format!(
                "{} % if paid within {}",
                d.percent,
                days(i64::from(d.within_days))
            )
        }
    });
    let hours = format!(
        "{}–{}, {}",
        t.business_hours.start.format("%H:%M"),
        t.business_hours.end.format("%H:%M"),
        t.business_hours
            .days
            .iter()
            .map(|d| weekday(*d, l))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let yes_no = |b: bool| if b { tw.yes } else { tw.no }.to_string();
    vec![
        (tw.grace_days, days(i64::from(t.grace_days))),
        (tw.reminders, offsets),
        (tw.late_fee, fee),
        (tw.discount, discount),
        (tw.escalate_after, days(i64::from(t.escalate_after_days))),
        (tw.hours, hours),
        (tw.promise_max_days, days(i64::from(t.promise_max_days))),
        (tw.max_open_promises, t.max_open_promises.to_string()),
        (tw.plan_max_instalments, t.plan_max_instalments.to_string()),
        (
            tw.plan_max_days_overdue,
            days(i64::from(t.plan_max_days_overdue)),
        ),
        (tw.plan_needs_approval, yes_no(t.plan_needs_approval)),
    ]
}

/// One line of an invoice's timeline, as the console shows it: what happened, where it
/// came from (a provider's payment id, a reference, "by hand"), and the business's note.
pub struct TimelineLine {
    pub what: String,
    pub source: Option<String>,
    pub note: Option<String>,
    /// Who recorded it ([`actor`]), when that was kept.
    pub by: Option<String>,
}

/// An invoice's promises and plans as the console lists them, oldest first: who made
/// each, for how much, by when, and how it stands.
pub fn arrangement_lines(l: Locale, a: &cobro_domain::arrangement::Arrangements) -> Vec<String> {
    use cobro_domain::Party;
    use cobro_domain::arrangement::Outcome;
    let es = l == Locale::Es;
    let who = |p: Party| match (p, es) {
        (Party::Client, true) => "del cliente",
        (Party::Client, false) => "by the client",
        (Party::Business, true) => "del negocio",
        (Party::Business, false) => "by the business",
    };
    let state = |o: Outcome, plan: bool| match (o, es, plan) {
        (Outcome::Open, true, false) => "pendiente",
        (Outcome::Open, true, true) => "en curso",
        (Outcome::Open, false, _) => "open",
        (Outcome::Kept, true, false) => "cumplida",
        (Outcome::Kept, true, true) => "cumplido",
        (Outcome::Kept, false, _) => "kept",
        (Outcome::Broken, true, false) => "incumplida",
        (Outcome::Broken, true, true) => "incumplido",
        (Outcome::Broken, false, _) => "broken",
    };
    let promises = a.promises.iter().map(|p| {
        let (amount, day) = (p.amount.format(l), l.long_date(p.date));
        let s = state(p.outcome, false);
        if es {
            format!(
                "Promesa {} de pagar {amount} a más tardar el {day}: {s}",
                who(p.by)
            )
        } else {
            format!("Promise {} to pay {amount} by {day}: {s}", who(p.by))
        }
    });
    let plans = a.plans.iter().map(|p| {
        let (n, total) = (p.instalments.len(), p.total.format(l));
        let s = state(p.outcome, true);
        let first = p.instalments.first().map(|i| l.long_date(i.due_date));
        let first = first.unwrap_or_default();
        if es {
            format!(
                "Plan {} de {n} cuotas por {total}, desde el {first}: {s}",
                who(p.by)
            )
        } else {
            format!(
                "Plan {} of {n} instalments for {total}, from {first}: {s}",
                who(p.by)
            )
        }
    });
    promises.chain(plans).collect()
}

/// Why an invoice was not created for the client, in `l`: they owe a deposit first (asked
/// for with the invoice `number`), or it would pass their budget or credit limit (`left` of
/// it, for `total`), or their standing gets no credit.
pub enum NotInvoiced<'a> {
    DepositFirst { number: &'a str, amount: String },
    OverBudget { left: String, total: String },
    OverCreditLimit { left: String, total: String },
    NoCredit,
}

pub fn not_invoiced(l: Locale, why: &NotInvoiced<'_>) -> String {
    let es = l == Locale::Es;
    match why {
        NotInvoiced::DepositFirst { number, amount } if es => format!(
            "Este cliente debe pagar primero un depósito de {amount}: se le pidió con la factura {number}."
        ),
        NotInvoiced::DepositFirst { number, amount } => format!(
            "This client must first pay a deposit of {amount}: it was asked for with invoice {number}."
        ),
        NotInvoiced::OverBudget { left, total } if es => format!(
            "Supera el presupuesto del cliente: le quedan {left} y la factura es de {total}."
        ),
        NotInvoiced::OverBudget { left, total } => format!(
            "It goes over the client's budget: {left} is left and the invoice is for {total}."
        ),
        NotInvoiced::OverCreditLimit { left, total } if es => format!(
            "Supera el límite de crédito del cliente: le quedan {left} y la factura es de {total}."
        ),
        NotInvoiced::OverCreditLimit { left, total } => format!(
            "It goes over the client's credit limit: {left} is left and the invoice is for {total}."
        ),
        NotInvoiced::NoCredit if es => {
            "Por su historial de pagos, este cliente no recibe facturas a crédito.".into()
        }
        NotInvoiced::NoCredit => {
            "Given their payment history, this client is not invoiced on credit.".into()
        }
    }
}

/// Who did something, as the console names them in `l`.
pub fn actor(l: Locale, a: &cobro_domain::Actor) -> String {
    use cobro_domain::Actor;
    let es = l == Locale::Es;
    match a {
        Actor::User { name, .. } => name.clone(),
        Actor::ApiKey { name, .. } if es => format!("clave API «{name}»"),
        Actor::ApiKey { name, .. } => format!("API key “{name}”"),
        Actor::Client if es => "el cliente, en su página de pago".into(),
        Actor::Client => "the client, on their pay page".into(),
        Actor::Provider {
            source,
            event_id: Some(id),
        } if es => format!("{source} · evento {id}"),
        Actor::Provider {
            source,
            event_id: Some(id),
        } => format!("{source} · event {id}"),
        Actor::Provider { source, .. } => source.clone(),
        Actor::Cobro => "cobro".into(),
    }
}

/// What an action was, in `l`.
pub fn action(l: Locale, a: cobro_domain::Action) -> &'static str {
    use cobro_domain::Action as A;
    let (es, en) = match a {
        A::ClientCreated => ("Creó el cliente", "Created the client"),
        A::ClientUpdated => (
            "Cambió los datos del cliente",
            "Changed the client's details",
        ),
        A::BudgetSet => ("Fijó el presupuesto", "Set the budget"),
        A::CreditLimitSet => ("Fijó el límite de crédito", "Set the credit limit"),
        A::InvoiceCreated => ("Creó la factura", "Created the invoice"),
        A::InvoiceSent => ("Envió la factura", "Sent the invoice"),
        A::PaymentRecorded => ("Registró un pago", "Recorded a payment"),
        A::RefundRecorded => ("Registró una devolución", "Recorded a refund"),
        A::UnmatchedApplied => ("Aplicó un pago sin asignar", "Applied an unmatched payment"),
        A::InvoiceVoided => ("Anuló la factura", "Voided the invoice"),
        A::DueDateExtended => ("Dio más plazo", "Gave more time"),
        A::PromiseMade => ("Registró una promesa de pago", "Recorded a promise to pay"),
        A::PlanMade => ("Acordó un plan de pagos", "Agreed a payment plan"),
        A::ChasePaused => ("Pausó la cobranza", "Paused the chase"),
        A::ChaseResumed => ("Reanudó la cobranza", "Resumed the chase"),
        A::PayLinkIssued => ("Creó un enlace de pago", "Made a pay link"),
        A::PayLinksRevoked => ("Revocó los enlaces de pago", "Revoked the pay links"),
        A::UserAdded => ("Agregó a una persona", "Added a person"),
        A::UserRoleChanged => ("Cambió el rol de una persona", "Changed a person's role"),
        A::UserDisabled => ("Desactivó a una persona", "Disabled a person"),
        A::UserEnabled => ("Reactivó a una persona", "Enabled a person again"),
        A::SessionsEnded => (
            "Cerró las sesiones de una persona",
            "Ended a person's sessions",
        ),
        A::ApiKeyCreated => ("Creó una clave API", "Made an API key"),
        A::ApiKeyRevoked => ("Revocó una clave API", "Revoked an API key"),
    };
    if l == Locale::Es { es } else { en }
}

/// A ledger entry for the console's timeline, in `l`.
pub fn timeline_line(l: Locale, e: &cobro_domain::LedgerEntry) -> TimelineLine {
    use cobro_domain::ledger::{EntryKind, PaymentMethod};
    let es = l == Locale::Es;
    let amount = e.amount.format(l);
    let pick = |a: String, b: String| if es { a } else { b };
    let (what, note) = match &e.kind {
        EntryKind::Charge => (
            pick(
                format!("Factura emitida por {amount}"),
                format!("Invoice issued for {amount}"),
            ),
            None,
        ),
        EntryKind::Payment { method, .. } => {
            let how = match (method, es) {
                (PaymentMethod::Cash, true) => "en efectivo",
                (PaymentMethod::Cash, false) => "in cash",
                (PaymentMethod::Cheque, true) => "con cheque",
                (PaymentMethod::Cheque, false) => "by cheque",
                (PaymentMethod::Transfer, true) => "por transferencia",
                (PaymentMethod::Transfer, false) => "by transfer",
                (PaymentMethod::CardTerminal, true) => "con tarjeta (terminal)",
                (PaymentMethod::CardTerminal, false) => "by card terminal",
                (PaymentMethod::Provider, true) => "en línea",
                (PaymentMethod::Provider, false) => "online",
            };
            (
                pick(
                    format!("Pago de {amount} {how}"),
                    format!("Payment of {amount} {how}"),
                ),
                None,
            )
        }
        EntryKind::Refund => (
            pick(
                format!("Devolución de {amount}"),
                format!("Refund of {amount}"),
            ),
            None,
        ),
        EntryKind::DisputeHold => (
            pick(
                format!("Disputa abierta por {amount}"),
                format!("Dispute opened for {amount}"),
            ),
            None,
        ),
        EntryKind::DisputeRelease => (
            pick(
                format!("Disputa ganada ({amount})"),
                format!("Dispute won ({amount})"),
            ),
            None,
        ),
        EntryKind::DisputeLost => (
            pick(
                format!("Disputa perdida: {amount} devueltos"),
                format!("Dispute lost: {amount} taken back"),
            ),
            None,
        ),
        EntryKind::CreditIn => (
            pick(
                format!("Saldo a favor aplicado: {amount}"),
                format!("Credit applied: {amount}"),
            ),
            None,
        ),
        EntryKind::CreditOut => (
            pick(
                format!("Saldo a favor llevado a otra factura: {amount}"),
                format!("Credit moved to another invoice: {amount}"),
            ),
            None,
        ),
        EntryKind::LateFee { period } => (
            pick(
                format!(
                    "Recargo por atraso de {amount} (período {})",
                    period.saturating_add(1)
                ),
                format!("Late fee of {amount} (period {})", period.saturating_add(1)),
            ),
            None,
        ),
        EntryKind::Discount => (
            pick(
                format!("Descuento por pronto pago de {amount}"),
                format!("Early-payment discount of {amount}"),
            ),
            None,
        ),
        EntryKind::DepositApplied => (
            pick(
                format!("Depósito aplicado a otra factura: {amount}"),
                format!("Deposit applied to another invoice: {amount}"),
            ),
            None,
        ),
        EntryKind::Void { reason } => (
            pick("Factura anulada".into(), "Invoice voided".into()),
            reason.clone(),
        ),
        EntryKind::Promise { date, .. } => (
            pick(
                format!("Compromiso de pagar {amount} el {}", l.long_date(*date)),
                format!("Promise to pay {amount} by {}", l.long_date(*date)),
            ),
            None,
        ),
        EntryKind::Plan { instalments, .. } => (
            pick(
                format!("Plan de pago en {} cuotas", instalments.len()),
                format!("Payment plan in {} instalments", instalments.len()),
            ),
            None,
        ),
        EntryKind::Extension {
            from, to, reason, ..
        } => (
            pick(
                format!(
                    "Vencimiento movido del {} al {}",
                    l.long_date(*from),
                    l.long_date(*to)
                ),
                format!(
                    "Due date moved from {} to {}",
                    l.long_date(*from),
                    l.long_date(*to)
                ),
            ),
            Some(reason.clone()),
        ),
        EntryKind::Pause { until, reason } => (
            pick(
                format!("Cobranza en pausa hasta el {}", l.long_date(*until)),
                format!("Chase paused until {}", l.long_date(*until)),
            ),
            Some(reason.clone()),
        ),
        EntryKind::Resume => (
            pick("Cobranza reanudada".into(), "Chase resumed".into()),
            None,
        ),
    };
    // Where it came from: the provider and its id (`stripe:pi_1:payment`), a reference
    // typed by hand, or nothing for what cobro itself wrote.
    let origin = match &e.kind {
        EntryKind::Payment {
            reference: Some(r), ..
        } => Some(r.as_str()),
        _ => e.key.as_deref(),
    };
    let source = origin.and_then(|k| {
        let mut parts = k.splitn(3, ':');
        match (parts.next(), parts.next()) {
            (Some(p @ ("stripe" | "mercadopago" | "standard" | "bank")), Some(id)) => {
                Some(format!("{p} · {id}"))
            }
            (Some("manual"), Some(id)) if !id.starts_with("pay_") => Some(if es {
                format!("a mano · {id}")
            } else {
                format!("by hand · {id}")
            }),
            (Some("manual"), _) => Some(if es {
                "a mano".into()
            } else {
                "by hand".into()
            }),
            _ => None,
        }
    });
    let by = e.by.as_ref().map(|a| actor(l, a));
    TimelineLine {
        what,
        source,
        note,
        by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cobro_domain::{Action, Actor};

    #[test]
    fn every_action_has_its_own_words_in_each_language() {
        for l in [Locale::Es, Locale::En] {
            let mut seen = std::collections::HashSet::new();
            for a in Action::ALL {
                assert!(seen.insert(action(l, a)), "{a:?} in {l:?}");
            }
        }
        assert_eq!(
            action(Locale::Es, Action::PaymentRecorded),
            "Registró un pago"
        );
        assert_eq!(action(Locale::En, Action::ChasePaused), "Paused the chase");
    }

    #[test]
    fn actors_are_named_for_people() {
        let key = Actor::ApiKey {
            id: cobro_domain::ApiKeyId::generate(),
            name: "ERP".into(),
        };
        assert_eq!(actor(Locale::Es, &key), "clave API «ERP»");
        assert_eq!(actor(Locale::En, &key), "API key “ERP”");
        let event = Actor::Provider {
            source: "stripe".into(),
            event_id: Some("evt_1".into()),
        };
        assert_eq!(actor(Locale::Es, &event), "stripe · evento evt_1");
        assert_eq!(
            actor(Locale::En, &Actor::Client),
            "the client, on their pay page"
        );
        let ana = Actor::User {
            id: cobro_domain::UserId::generate(),
            name: "Ana <b>".into(),
        };
        // Escaping is the template's: the name is kept as typed.
        assert_eq!(actor(Locale::Es, &ana), "Ana <b>");
    }
}
