"""Email templates: sandboxed, strict, autoescaped HTML, errors that point at the line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from boomerang.accounts.models import Account, Contact, Stage
from boomerang.errors import Invalid
from boomerang.mail.templates import (
    EmailTemplate,
    context_for,
    html_from_text,
    load,
    preview,
    render,
)
from boomerang.users.models import User


def context() -> dict:
    account = Account(
        id="acc_1",
        external_id="e1",
        name="Initech <Ltd>",
        tier="enterprise",
        stage=Stage.adoption,
        arr=Decimal("48000.00"),
        currency="USD",
        attributes={"plan": "Pro"},
    )
    contact = Contact(id="con_1", name="Peter Gibbons", email="peter@initech.example")
    owner = User(id="usr_1", name="Ana López", email="ana@boomerang.example")
    return context_for(
        account=account, contact=contact, owner=owner, unsubscribe_url="http://x/u/t"
    )


def test_render_fills_every_part_and_escapes_html_only() -> None:
    template = EmailTemplate(
        subject="{{ account.name }}: your {{ account.attributes.plan }} plan",
        text="Hi {{ contact.first_name }}, {{ account.name }} is {{ account.stage }}.",
        html="<p>Hi {{ contact.first_name }}, {{ account.name }}</p>",
    )
    out = render(template, context())
    assert out.subject == "Initech <Ltd>: your Pro plan"
    assert out.text == "Hi Peter, Initech <Ltd> is adoption."
    assert out.html == "<p>Hi Peter, Initech &lt;Ltd&gt;</p>"


def test_the_subject_is_one_line() -> None:
    out = render(EmailTemplate(subject="A\n{{ 'B' }}\r\nC", text="x"), context())
    assert out.subject == "A B C"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            EmailTemplate(subject="Hi", text="Hello\n\n{{ acount.name }}"),
            "text: line 3: unknown variable 'acount'",
        ),
        (
            EmailTemplate(subject="Hi {{ contact.nmae }}", text="x"),
            "subject: line 1: contact has no field 'nmae' (it has: email, first_name, id, name",
        ),
        (
            EmailTemplate(subject="Hi", text="x", html="<p>\n{{ account.name }\n</p>"),
            "html: line 2: unexpected '}'",
        ),
        (
            EmailTemplate(subject="Hi", text="x\n{{ account.attributes.seats }}"),
            "text: line 2: account.attributes has no field 'seats'",
        ),
        (EmailTemplate(subject="Hi", text="   "), "text: the plain-text part is required"),
        (EmailTemplate(subject=" ", text="x"), "subject: must not be empty"),
    ],
)
def test_mistakes_are_named_with_their_part_and_line(template: EmailTemplate, message: str) -> None:
    with pytest.raises(Invalid) as exc:
        render(template, context())
    assert exc.value.message.startswith(message), exc.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__init__.__globals__ }}",
        "{{ account.attributes.update({'x': 1}) }}",
    ],
)
def test_the_sandbox_refuses_attribute_tricks(source: str) -> None:
    with pytest.raises(Invalid) as exc:
        render(EmailTemplate(subject="Hi", text=source), context())
    assert exc.value.message.startswith("text: line 1:")
    assert "unsafe" in exc.value.message or "has no field" in exc.value.message


def test_templates_see_plain_values_not_database_objects() -> None:
    values = context()
    assert set(values) == {"account", "contact", "owner", "unsubscribe_url"}
    assert not isinstance(values["account"], Account)
    out = render(EmailTemplate(subject="x", text="{{ owner.name }} {{ account.arr }}"), values)
    assert out.text == "Ana López 48000.00"


def test_without_html_the_html_part_is_derived_from_the_text() -> None:
    out = render(
        EmailTemplate(
            subject="x", text="Hi {{ contact.first_name }} & <co>,\nsee https://a.b/c.\n\nBye"
        ),
        context(),
    )
    assert (
        '<p>Hi Peter &amp; &lt;co&gt;,<br>\nsee <a href="https://a.b/c">https://a.b/c</a>.</p>'
        in out.html
    )
    assert "<p>Bye</p>" in out.html
    assert html_from_text("").count("<p>") == 0


def test_preview_lists_the_variables_used() -> None:
    shown = preview(
        EmailTemplate(
            subject="{{ account.name }}", text="{{ contact.name }} {{ unsubscribe_url }}"
        ),
        context(),
    )
    assert shown.variables == ["account", "contact", "unsubscribe_url"]
    assert shown.html_derived and shown.rendered.subject == "Initech <Ltd>"


def test_template_files(tmp_path: Path) -> None:
    good = tmp_path / "welcome.yaml"
    good.write_text("subject: Welcome {{ contact.first_name }}\ntext: |\n  Hi\nhtml: <p>Hi</p>\n")
    assert load(good) == EmailTemplate(
        subject="Welcome {{ contact.first_name }}", text="Hi\n", html="<p>Hi</p>"
    )
    cases = {
        "subject: Hi\n": "text is required",
        "subject: Hi\ntext: x\nbody: y\n": "unknown keys body",
        "subject: Hi\ntext: '{{ x'\n": "text: line 1:",
        "subject: [unclosed\n": "not valid YAML",
        "- a list\n": "must be a mapping",
    }
    for content, complaint in cases.items():
        bad = tmp_path / "bad.yaml"
        bad.write_text(content)
        with pytest.raises(Invalid, match=complaint.replace("[", r"\[")):
            load(bad)
