//! The words of the figures (reports): what each bucket and series is called and how each
//! figure is worked out, in Spanish and English.

use chrono::NaiveDate;
use cobro_domain::Locale;
use cobro_domain::listing::Bucket;

/// A bucket as a column or bar is labelled.
pub fn bucket(l: Locale, b: Bucket) -> &'static str {
    let (es, en) = match b {
        Bucket::Current => ("Al día", "Current"),
        Bucket::Days1To30 => ("1–30 días", "1–30 days"),
        Bucket::Days31To60 => ("31–60 días", "31–60 days"),
        Bucket::Days61To90 => ("61–90 días", "61–90 days"),
        Bucket::Over90 => ("Más de 90", "Over 90"),
    };
    if l == Locale::Es { es } else { en }
}

/// How the aging as of `as_of` is worked out.
pub fn aging_method(l: Locale, as_of: NaiveDate) -> String {
    match l {
        Locale::Es => format!(
            "Lo que se debía al cierre del {as_of} (hora del negocio): cada factura emitida hasta ese día, con los movimientos de su libro registrados hasta entonces; \
             por días desde el vencimiento vigente ese día (con las prórrogas dadas hasta entonces), «al día» si aún no vencía. \
             Los recargos por atraso van aparte: cada pago cubre primero los recargos ya cobrados y luego el capital (Código Civil de Chile, art. 1595). \
             Cada moneda por separado: nunca se suman monedas distintas."
        ),
        Locale::En => format!(
            "What was owed at the end of {as_of} (the business's time): every invoice issued by that day, with the entries of its ledger recorded by then; \
             by days past the due date in force that day (as extended by then), \"current\" when not yet due. \
             Late fees are shown apart: each payment pays the late fees already charged first, then the principal (Chilean Civil Code, art. 1595). \
             Each currency on its own: amounts in different currencies are never added."
        ),
    }
}

/// The words of the console's Reports page.
pub struct FigureWords {
    pub title: &'static str,
    pub aging: &'static str,
    pub as_of: &'static str,
    pub currency: &'static str,
    pub all_currencies: &'static str,
    pub show: &'static str,
    pub download: &'static str,
    pub bucket: &'static str,
    pub invoices: &'static str,
    pub principal: &'static str,
    pub late_fees: &'static str,
    pub amount: &'static str,
    pub total: &'static str,
    pub top_clients: &'static str,
    pub client: &'static str,
    pub nothing_owed: &'static str,
    pub how: &'static str,
    pub read: &'static str,
    pub chart_table: &'static str,
    pub dso: &'static str,
    pub period: &'static str,
    pub months: &'static str,
    pub days: &'static str,
    pub receivables: &'static str,
    pub sales: &'static str,
    pub simple: &'static str,
    pub countback: &'static str,
    pub whole_business: &'static str,
    pub trends: &'static str,
    pub month: &'static str,
    pub invoiced: &'static str,
    pub collected: &'static str,
    pub overdue_end: &'static str,
    pub overdue_share: &'static str,
    pub cei: &'static str,
    pub avg_days_late: &'static str,
    pub promises_kept: &'static str,
    pub plans_completed: &'static str,
    pub cash: &'static str,
    pub week: &'static str,
    pub arrived: &'static str,
    pub due: &'static str,
    pub promised: &'static str,
    pub instalments: &'static str,
    pub expected: &'static str,
    pub overdue_undated: &'static str,
    pub later: &'static str,
    pub this_week: &'static str,
}

static FIGURES_ES: FigureWords = FigureWords {
    title: "Informes",
    aging: "Antigüedad de la deuda",
    as_of: "Al cierre del día",
    currency: "Moneda",
    all_currencies: "Todas",
    show: "Ver",
    download: "Descargar en CSV",
    bucket: "Tramo",
    invoices: "Facturas",
    principal: "Capital",
    late_fees: "Recargos",
    amount: "Adeudado",
    total: "Total",
    top_clients: "Quiénes deben",
    client: "Cliente",
    nothing_owed: "Nada se debía ese día.",
    how: "Cómo se calcula",
    read: "Facturas leídas para calcularlo",
    chart_table: "Los datos del gráfico",
    dso: "Días de venta pendientes (DSO)",
    period: "Período",
    months: "meses",
    days: "Días",
    receivables: "Por cobrar",
    sales: "Ventas a crédito",
    simple: "DSO simple",
    countback: "DSO por agotamiento",
    whole_business: "Del negocio entero, no solo de este cliente.",
    trends: "Tendencias (12 meses)",
    month: "Mes",
    invoiced: "Facturado",
    collected: "Cobrado",
    overdue_end: "Vencido al cierre",
    overdue_share: "% vencido",
    cei: "CEI",
    avg_days_late: "Días de atraso promedio",
    promises_kept: "Promesas cumplidas",
    plans_completed: "Planes completados",
    cash: "Caja esperada (8 semanas)",
    week: "Semana",
    arrived: "Llegado",
    due: "Vence",
    promised: "Prometido",
    instalments: "Cuotas",
    expected: "Esperado (ponderado)",
    overdue_undated: "Vencido sin promesa ni plan (sin fecha)",
    later: "Esperado después de la octava semana",
    this_week: "esta semana",
};

static FIGURES_EN: FigureWords = FigureWords {
    title: "Reports",
    aging: "Aging of receivables",
    as_of: "As of the end of",
    currency: "Currency",
    all_currencies: "All",
    show: "Show",
    download: "Download as CSV",
    bucket: "Bucket",
    invoices: "Invoices",
    principal: "Principal",
    late_fees: "Late fees",
    amount: "Owed",
    total: "Total",
    top_clients: "Who owes",
    client: "Client",
    nothing_owed: "Nothing was owed that day.",
    how: "How it is worked out",
    read: "Invoices read to work it out",
    chart_table: "The chart's data",
    dso: "Days sales outstanding (DSO)",
    period: "Period",
    months: "months",
    days: "Days",
    receivables: "Receivables",
    sales: "Credit sales",
    simple: "Simple DSO",
    countback: "Countback DSO",
    whole_business: "For the whole business, not only this client.",
    trends: "Trends (12 months)",
    month: "Month",
    invoiced: "Invoiced",
    collected: "Collected",
    overdue_end: "Overdue at the end",
    overdue_share: "% overdue",
    cei: "CEI",
    avg_days_late: "Average days late",
    promises_kept: "Promises kept",
    plans_completed: "Plans completed",
    cash: "Expected cash (8 weeks)",
    week: "Week",
    arrived: "Arrived",
    due: "Falls due",
    promised: "Promised",
    instalments: "Instalments",
    expected: "Expected (weighted)",
    overdue_undated: "Past due with no promise or plan (no date)",
    later: "Expected after the eighth week",
    this_week: "this week",
};

impl FigureWords {
    pub fn of(l: Locale) -> &'static FigureWords {
        match l {
            Locale::Es => &FIGURES_ES,
            Locale::En => &FIGURES_EN,
        }
    }
}

/// The aging chart's title.
pub fn aging_chart_title(l: Locale, currency: &str, as_of: NaiveDate) -> String {
    match l {
        Locale::Es => format!("Antigüedad de la deuda en {currency} al {as_of}"),
        Locale::En => format!("Aging in {currency} as of {as_of}"),
    }
}

/// The aging chart in a sentence: the total and the largest bucket.
pub fn aging_chart_desc(l: Locale, total: &str, largest: (&str, &str)) -> String {
    match l {
        Locale::Es => format!(
            "Barras apiladas de capital y recargos por tramo de atraso. Se debía {total} en total; el tramo mayor es «{}», con {}.",
            largest.0, largest.1
        ),
        Locale::En => format!(
            "Stacked bars of principal and late fees by how long past due. {total} was owed in all; the largest bucket is \"{}\", with {}.",
            largest.0, largest.1
        ),
    }
}

/// How DSO is worked out.
pub fn dso_method(l: Locale, as_of: NaiveDate) -> String {
    match l {
        Locale::Es => format!(
            "Días de venta pendientes al cierre del {as_of}, por moneda. Los meses terminan ese día: el último es el mes en curso hasta ese día, los anteriores meses completos. \
             Ventas a crédito: el total de las facturas emitidas cada mes (por fecha de emisión), sin las anuladas. Por cobrar: lo adeudado al cierre del día (como en la antigüedad). \
             Método simple: por cobrar ÷ ventas del período × días del período. \
             Método de agotamiento (countback): desde el mes más reciente hacia atrás, se descuentan las ventas de cada mes y se suman sus días mientras alcance lo por cobrar; del mes que lo agota se suma la parte proporcional. \
             Si las ventas del período no lo agotan, la cifra es un mínimo."
        ),
        Locale::En => format!(
            "Days sales outstanding at the end of {as_of}, per currency. Months end on that day: the latest is the month so far, the ones before whole months. \
             Credit sales: the totals of the invoices issued each month (by issue date), void ones left out. Receivables: what was owed at the end of the day (as in the aging). \
             Simple method: receivables ÷ the period's sales × the period's days. \
             Countback (exhaustion) method: from the latest month backwards, each month's sales are taken off the receivables and its days added while they last; the month that exhausts them adds its share of days. \
             If the period's sales do not exhaust them, the figure is a lower bound."
        ),
    }
}

/// How CEI is worked out.
pub fn cei_method(l: Locale) -> String {
    match l {
        Locale::Es => "Índice de efectividad de cobranza (CEI) de cada mes, por moneda: (por cobrar al inicio + ventas a crédito del mes − por cobrar al cierre) ÷ (por cobrar al inicio + ventas del mes − lo aún no vencido al cierre) × 100. \
             Por cobrar al inicio es lo adeudado al cierre del día anterior al mes; los montos, como en la antigüedad. 100 es todo lo cobrable cobrado. Sin nada cobrable, no hay índice.".into(),
        Locale::En => "Collection effectiveness index (CEI) of each month, per currency: (receivables at the start + the month's credit sales − receivables at the end) ÷ (receivables at the start + the month's sales − what was still current at the end) × 100. \
             Receivables at the start are what was owed at the end of the day before the month; the amounts as in the aging. 100 is everything collectable collected. With nothing collectable, there is no index.".into(),
    }
}

/// How the trends are worked out.
pub fn trends_method(l: Locale) -> String {
    match l {
        Locale::Es => "Cada mes, por moneda, con los libros como estaban al cierre del día pedido. Facturado: las ventas a crédito del mes (como en el DSO). \
             Cobrado: el dinero recibido en el mes (pagos, por el día en que se registraron) menos lo devuelto (reembolsos, disputas perdidas); los créditos movidos entre facturas y los descuentos no son dinero recibido. \
             Vencido al cierre: lo adeudado al cierre del mes que ya había pasado su vencimiento vigente, y su parte de todo lo adeudado. \
             Días de atraso promedio: de las facturas pagadas por completo en el mes, la suma de monto × días después del vencimiento vigente, dividida por la suma de los montos (pagada a tiempo cuenta 0). \
             Promesas cumplidas y planes completados: de los decididos en el mes (cumplidos cuando llegó el dinero, incumplidos cuando pasó su plazo con los días de gracia), la parte cumplida; los aún abiertos no cuentan.".into(),
        Locale::En => "Each month, per currency, with the ledgers as they stood at the end of the day asked about. Invoiced: the month's credit sales (as in DSO). \
             Collected: money received in the month (payments, by the day they were recorded) less what went back (refunds, disputes lost); credits moved between invoices and discounts are not money received. \
             Overdue at the end: what was owed at the end of the month and past its due date in force, and its share of all that was owed. \
             Average days late: of the invoices paid in full in the month, the sum of amount × days after the due date in force, divided by the sum of the amounts (paid on time counts 0). \
             Promises kept and plans completed: of those decided in the month (kept when the money arrived, broken when their deadline with the grace days passed), the share kept; those still open are not counted.".into(),
    }
}

/// How the expected cash is worked out.
pub fn cash_method(l: Locale) -> String {
    match l {
        Locale::Es => "Semanas de lunes a domingo (hora del negocio): la semana del día pedido y las siete siguientes, junto a las ocho anteriores. \
             Lo que aún se debe se espera en una fecha: con un plan abierto, cada cuota impaga en su vencimiento; con promesas abiertas, cada promesa en su fecha; el resto, en el vencimiento vigente. \
             Lo vencido sin promesa ni plan no tiene fecha y se muestra aparte. Una fecha ya pasada pero aún en sus días de gracia se espera en la semana en curso. \
             Cada monto se pondera por la historia del cliente en los últimos doce meses: lo que vence por su tasa de puntualidad (de sus facturas pagadas por completo, la parte pagada a tiempo) y lo prometido o en plan por su tasa de cumplimiento (de sus promesas y planes decididos, la parte cumplida). \
             Sin historia propia se usa la del negocio; sin ninguna, el 100 %. Llegado: los pagos registrados en la semana menos lo devuelto.".into(),
        Locale::En => "Weeks from Monday to Sunday (the business's time): the week of the day asked about and the seven after it, beside the eight before. \
             What is still owed is expected on one date: under an open plan, each unpaid instalment on its due date; under open promises, each promise on its date; the rest on the due date in force. \
             What is past due with no promise or plan has no date and is shown apart. A date already passed but still within its grace days is expected in the current week. \
             Each amount is weighted by the client's history over the last twelve months: what falls due by their on-time share (of their invoices paid in full, the share paid on time), what is promised or in a plan by their kept share (of their promises and plans decided, the share kept). \
             A client without history of their own takes the business's; a business without any, 100 %. Arrived: payments recorded in the week less what went back.".into(),
    }
}

/// The trends' charts: titles and descriptions.
pub fn trends_chart_title(l: Locale, currency: &str, money: bool) -> String {
    match (l, money) {
        (Locale::Es, true) => format!("Facturado y cobrado por mes en {currency}"),
        (Locale::Es, false) => {
            format!("Parte vencida al cierre de cada mes y CEI, en %, en {currency}")
        }
        (Locale::En, true) => format!("Invoiced and collected by month in {currency}"),
        (Locale::En, false) => {
            format!("Share overdue at each month's end and CEI, in %, in {currency}")
        }
    }
}

/// The trends' charts in a sentence: the latest month's figures.
pub fn trends_chart_desc(l: Locale, month: &str, money: bool, a: &str, b: &str) -> String {
    match (l, money) {
        (Locale::Es, true) => format!(
            "Barras de lo facturado y lo cobrado cada mes; en {month} se facturó {a} y se cobró {b}."
        ),
        (Locale::Es, false) => format!(
            "Líneas de la parte vencida (continua) y del CEI (discontinua) cada mes; en {month}: {a} vencido, CEI {b}."
        ),
        (Locale::En, true) => format!(
            "Bars of what was invoiced and collected each month; in {month} {a} was invoiced and {b} collected."
        ),
        (Locale::En, false) => format!(
            "Lines of the share overdue (solid) and CEI (dashed) each month; in {month}: {a} overdue, CEI {b}."
        ),
    }
}

/// The expected cash chart's title.
pub fn cash_chart_title(l: Locale, currency: &str) -> String {
    match l {
        Locale::Es => format!("Caja llegada y esperada por semana en {currency}"),
        Locale::En => format!("Cash arrived and expected by week in {currency}"),
    }
}

/// The expected cash chart in a sentence.
pub fn cash_chart_desc(l: Locale, arrived: &str, expected: &str) -> String {
    match l {
        Locale::Es => format!(
            "Barras de lo llegado en las ocho semanas anteriores y de lo esperado, ponderado, en las ocho desde esta; llegó {arrived} y se esperan {expected}."
        ),
        Locale::En => format!(
            "Bars of what arrived in the eight weeks before and what is expected, weighted, in the eight from this one; {arrived} arrived and {expected} is expected."
        ),
    }
}
