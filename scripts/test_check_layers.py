#!/usr/bin/env python3
"""Tests for scripts/check-layers: fake crates in a temp dir, the script run with --root.
Run: python3 scripts/test_check_layers.py"""

import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "check-layers"
DOMAIN = "shared/domain/src"
APP = "shared/app/src"


class CheckLayers(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)
        # both crates must exist; by default each is just a crate root
        self.write(f"{DOMAIN}/lib.rs", "")
        self.write(f"{APP}/lib.rs", "")

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, rel, text):
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))

    def crate(self, files, base=DOMAIN):
        for rel, text in files.items():
            self.write(f"{base}/{rel}", text)

    def run_check(self, *extra):
        r = subprocess.run(
            [sys.executable, str(SCRIPT), "--root", str(self.root), *extra],
            capture_output=True,
            text=True,
        )
        self.assertEqual(r.stderr, "", r.stderr)
        return r.returncode, r.stdout

    def assert_cycle(self, *modules, crate="cobro_domain"):
        rc, out = self.run_check()
        self.assertEqual(rc, 1, out)
        lines = [l for l in out.splitlines() if l.startswith(f"cycle in {crate}:")]
        self.assertEqual(len(lines), 1, out)
        for m in modules:
            self.assertIn(m, lines[0], out)
        return out

    def assert_no_cycle(self):
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)
        self.assertNotIn("cycle", out)
        return out

    # -- check 1 ------------------------------------------------------------------------

    def test_two_module_cycle(self):
        self.crate({
            "lib.rs": "pub mod a;\npub mod b;\n",
            "a.rs": "use crate::b;\npub struct X;\npub fn f() { b::g() }\n",
            "b.rs": "\nuse crate::a::X;\npub fn g() -> X { X }\n",
        })
        out = self.assert_cycle("a", "b")
        self.assertIn("cycle in cobro_domain: a -> b -> a", out)
        self.assertIn(f"a -> b: {DOMAIN}/a.rs:1", out)
        self.assertIn(f"b -> a: {DOMAIN}/b.rs:2", out)
        self.assertIn("check-layers: FAILED", out)

    def test_cycle_in_the_app_crate(self):
        self.crate({
            "deposits.rs": "pub fn f() { crate::invoices_api::issue() }\n",
            "invoices_api.rs": "pub fn issue() { crate::deposits::f() }\n",
        }, base=APP)
        out = self.assert_cycle("deposits", "invoices_api", crate="cobro_app")
        self.assertIn("deposits -> invoices_api -> deposits", out)

    def test_cycle_through_a_grouped_use(self):
        self.crate({
            "a.rs": "use crate::{ids, b::{C, d::E}};\n",
            "b/mod.rs": "pub mod d;\npub struct C;\n",
            "b/d.rs": "pub fn e() -> crate::a::Y { todo!() }\npub struct E;\n",
            "ids.rs": "",
        })
        self.assert_cycle("a", "b::d")

    def test_cycle_through_a_nested_group_with_self_and_alias(self):
        self.crate({
            "a.rs": "use crate::{ids as i, b::{self as bee}};\n",
            "b.rs": "use crate::a;\n",
            "ids.rs": "",
        })
        self.assert_cycle("a", "b")

    def test_cycle_through_super(self):
        # in a::b, super::c is a::c; in a::c, super::b::X is a::b
        self.crate({
            "a/mod.rs": "pub mod b;\npub mod c;\n",
            "a/b.rs": "use super::c::helper;\n",
            "a/c.rs": "pub fn helper() -> super::b::X { todo!() }\n",
        })
        self.assert_cycle("a::b", "a::c")

    def test_super_from_a_top_module_is_the_crate_root(self):
        self.crate({
            "a.rs": "use super::b;\n",  # crate::b
            "b/mod.rs": "use super::a::X;\n",  # b is top level too: crate::a
        })
        self.assert_cycle("a", "b")

    def test_self_in_a_mod_file(self):
        self.crate({
            "a/mod.rs": "pub mod x;\npub use self::x::Y;\n",  # a -> a::x: own child, no edge
            "a/x.rs": "pub struct Y;\npub fn f() { crate::b::g() }\n",
            "b.rs": "pub fn g() { crate::a::x::f() }\n",
        })
        self.assert_cycle("a::x", "b")

    def test_comments_doc_comments_and_strings_are_ignored(self):
        self.crate({
            "a.rs": "use crate::b::X;\n",
            "b.rs": """\
                //! Module docs: see crate::a::Thing.
                /// Like [`crate::a::f`].
                pub struct X;
                // crate::a::f() would make a cycle
                /* block crate::a::f() /* nested crate::a */ still comment crate::a::g */
                pub const S: &str = "crate::a::f \\" crate::a::g";
                pub const R: &str = r#"say "crate::a::f" here"#;
                pub const P: &str = r"C:\"; pub fn p() {} pub const P2: &str = r"crate::a";
                pub const B: &[u8] = b"crate::a";
                pub const C: char = '"';
                pub const Q: char = '\\'';
                pub fn longest<'a>(x: &'a str, _y: &'a str) -> &'a str { x }
                #[serde(serialize_with = "crate::a::ser")]
                pub struct Y;
                """,
        })
        out = self.assert_no_cycle()
        self.assertIn("cobro_domain layer 0: b", out)
        self.assertIn("cobro_domain layer 1: a", out)

    def test_lifetime_then_a_real_reference_is_seen(self):
        # a lifetime must not open a char literal that swallows the path after it
        self.crate({
            "a.rs": "use crate::b::X;\n",
            "b.rs": "pub struct X;\npub fn f<'a>(x: &'a u8) -> &'a u8 { crate::a::g(); x }\n",
        })
        self.assert_cycle("a", "b")

    def test_cfg_test_items_are_ignored(self):
        self.crate({
            "a.rs": "use crate::b::X;\n",
            "b.rs": """\
                pub struct X;
                #[cfg(test)]
                mod tests {
                    use crate::a;
                    fn inner() { if true { crate::a::f() } }
                }
                #[cfg(test)]
                #[allow(dead_code)]
                fn helper() -> crate::a::Y { todo!() }
                #[cfg(test)] use crate::a::{Z, W};
                #[cfg(test)]
                mod more;
                pub fn after() {}
                """,
            "b/more.rs": "use crate::a;\n",  # declared under #[cfg(test)]: test code
        })
        out = self.assert_no_cycle()
        self.assertIn("cobro_domain layer 0: b", out)
        self.assertNotIn("b::more", out)

    def test_code_after_a_cfg_test_module_is_still_scanned(self):
        self.crate({
            "a.rs": "use crate::b::X;\n",
            "b.rs": "pub struct X;\n#[cfg(test)]\nmod tests { }\npub fn f() { crate::a::g() }\n",
        })
        self.assert_cycle("a", "b")

    def test_tests_files_are_ignored(self):
        self.crate({
            "a.rs": "use crate::b::X;\n",
            # files named tests.rs (or under src/**/tests/) are skipped whatever declares them
            "b.rs": "pub struct X;\n",
            "b/tests.rs": "use crate::a;\nuse super::*;\n",
            "b/tests/helpers.rs": "use crate::a;\n",
        })
        out = self.assert_no_cycle()
        self.assertNotIn("tests", out)

    def test_parent_reexporting_its_children_is_not_a_cycle(self):
        self.crate({
            "lib.rs": "pub mod a;\npub use a::Thing;\n",
            "a/mod.rs": """\
                mod b;
                mod c;
                pub use self::b::Thing;
                pub use crate::a::c::{Other, more::Deep};
                """,
            "a/b.rs": "use super::c::Other;\npub struct Thing(Other);\n",
            "a/c/mod.rs": "pub mod more;\npub struct Other;\n",
            "a/c/more.rs": "pub struct Deep;\n",
        })
        out = self.assert_no_cycle()
        # b depends on its sibling c; a's references to its children are not edges
        self.assertIn("cobro_domain layer 0: a, a::c, a::c::more", out)
        self.assertIn("cobro_domain layer 1: a::b", out)

    def test_child_using_parent_plus_parent_using_child_is_not_a_cycle(self):
        self.crate({
            "a/mod.rs": "mod b;\npub use b::f;\npub struct T;\n",
            "a/b.rs": "use super::T;\npub fn f() -> T { T }\n",
        })
        out = self.assert_no_cycle()
        self.assertIn("cobro_domain layer 0: a\n", out)
        self.assertIn("cobro_domain layer 1: a::b\n", out)

    def test_crate_root_references_are_ignored(self):
        self.crate({
            "lib.rs": "pub mod a;\npub mod b;\npub use a::App;\npub fn today_in() {}\n",
            "a.rs": "pub struct App;\npub fn f() { crate::b::g() }\n",
            "b.rs": "use crate::App;\npub fn g() { crate::today_in(); }\nuse crate::{App as A, today_in};\n",
        })
        self.assert_no_cycle()

    def test_longest_known_prefix(self):
        # crate::usecases::sweep::run is module usecases::sweep; crate::other::x::y is other
        self.crate({
            "usecases/mod.rs": "pub mod sweep;\n",
            "usecases/sweep.rs": "pub fn run() { crate::other::x::y() }\n",
            "other.rs": "",
            "top.rs": "pub fn f() { crate::usecases::sweep::run(); crate::other::x(); }\n",
        })
        out = self.assert_no_cycle()
        self.assertIn("cobro_domain layer 0: other, usecases\n", out)
        self.assertIn("cobro_domain layer 1: usecases::sweep\n", out)
        self.assertIn("cobro_domain layer 2: top\n", out)

    def test_alias_in_a_group_is_not_a_path(self):
        self.crate({
            "a.rs": "use crate::{ids::Id as b, ids as c};\n",
            "b.rs": "use crate::a;\n",
            "c.rs": "use crate::a;\n",
            "ids.rs": "pub struct Id;\n",
        })
        self.assert_no_cycle()

    def test_super_inside_an_inline_module_is_the_file_module(self):
        # in a's inline mod inner, super::b is a's own item b, not the module crate::b
        self.crate({
            "a.rs": "fn b() {}\nmod inner {\n    use super::b;\n}\n",
            "b.rs": "use crate::a;\n",
        })
        self.assert_no_cycle()

    def test_inline_module_super_is_the_file_module(self):
        self.crate({
            "a.rs": "use crate::b::X;\nmod inner {\n    use super::Y;\n}\npub struct Y;\n",
            "b.rs": "pub struct X;\n",
        })
        out = self.assert_no_cycle()
        self.assertIn("cobro_domain layer 0: b\n", out)

    def test_acyclic_crate_prints_layers(self):
        self.crate({
            "lib.rs": "pub mod ids;\npub mod locale;\npub mod money;\npub mod invoice;\npub mod validation;\n",
            "ids.rs": "pub struct Id;\n",
            "locale.rs": "pub enum Locale { En }\n",
            "validation.rs": "pub struct FieldErrors;\n",
            "money.rs": "use crate::locale::Locale;\n",
            "invoice.rs": "use crate::{ids::Id, money, validation::FieldErrors};\n",
        })
        self.crate({"json.rs": "", "problem.rs": "use crate::json;\n"}, base=APP)
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)
        self.assertIn(
            "cobro_domain layer 0: ids, locale, validation\n"
            "cobro_domain layer 1: money\n"
            "cobro_domain layer 2: invoice\n",
            out,
        )
        self.assertIn("cobro_app layer 0: json\ncobro_app layer 1: problem\n", out)
        self.assertIn("usecases/ does not exist", out)
        self.assertIn("check-layers: ok", out)

    def test_three_module_cycle_shows_a_path_and_lines(self):
        self.crate({
            "a.rs": "\n\nfn f() { crate::b::g() }\n",
            "b.rs": "fn g() { crate::c::h() }\n",
            "c.rs": "use crate::a;\n",
        })
        out = self.assert_cycle("a", "b", "c")
        self.assertIn("a -> b -> c -> a", out)
        self.assertIn(f"a -> b: {DOMAIN}/a.rs:3", out)

    # -- check 2 ------------------------------------------------------------------------

    def usecase(self, text):
        self.crate({"lib.rs": "pub mod usecases;\n", "usecases/mod.rs": "pub mod sweep;\n",
                    "usecases/sweep.rs": text}, base=APP)

    def test_http_in_usecases_is_flagged(self):
        self.usecase("use axum::Json;\n\nfn f() -> u16 { StatusCode::OK.as_u16() }\n")
        rc, out = self.run_check()
        self.assertEqual(rc, 1, out)
        self.assertIn(f"{APP}/usecases/sweep.rs:1: axum", out)
        self.assertIn(f"{APP}/usecases/sweep.rs:3: StatusCode", out)

    def test_other_http_names_are_flagged(self):
        self.usecase(
            "use crate::Problem;\n"
            "fn a() -> serde_json::Value { json!({}) }\n"
            "fn b() -> http::Method { todo!() }\n"
            "use serde_json::{json, to_string};\n"
        )
        rc, out = self.run_check()
        self.assertEqual(rc, 1, out)
        f = f"{APP}/usecases/sweep.rs"
        for hit in [f"{f}:1: Problem", f"{f}:2: serde_json::Value", f"{f}:2: json!",
                    f"{f}:3: http::", f"{f}:4: serde_json::json"]:
            self.assertIn(hit, out)

    def test_http_in_comments_and_strings_is_not_flagged(self):
        self.usecase(
            "// use axum::Json; StatusCode::OK\n"
            "/// Returns what becomes a Problem (StatusCode 404) in the axum handler.\n"
            "/* http::Request, json!({}) */\n"
            'const MSG: &str = "axum StatusCode::OK Problem http::x";\n'
            "pub struct Problems; pub struct ProblemKind; pub struct MyStatusCode;\n"
            "fn f(http_status: u16, json: u8) -> bool { json != 0 && http_status > 0 }\n"
        )
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)
        self.assertIn("usecases/: no HTTP (2 files)", out)


if __name__ == "__main__":
    unittest.main()
