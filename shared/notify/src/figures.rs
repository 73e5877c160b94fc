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
