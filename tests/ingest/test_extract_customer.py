"""Customer extraction from hand-written story openings (fictional organisations)."""

from __future__ import annotations

import pytest

from ingest.extract.customer import find_customer, is_anonymous, normalise_name
from reffy.rubric import NamedThing, VendorProfile

VENDOR = VendorProfile(
    name="Quillon",
    products=[NamedThing(name="Quillon Assist", aliases=["Assist"]), NamedThing(name="Quillon Flow", aliases=["Flow"])],
    competitors=[NamedThing(name="Zentrix", aliases=["Zentrix CX"])],
)


def test_subject_of_the_opening_sentence():
    text = (
        "Helvana Versicherung, a German insurer with two million policyholders, settles simple claims in hours. "
        "The insurer had relied on paper forms for years.\n\n"
        "Helvana now handles most bicycle claims without a person touching them."
    )
    assert find_customer("Simple claims in hours, not days", text) == "Helvana Versicherung"


def test_possessive_and_is_a_patterns():
    text = (
        "Brightvale Energy's contact centre answers around 40,000 calls a month. Brightvale Energy is a "
        "regional electricity retailer in Queensland. The team wanted fewer repeat calls."
    )
    assert find_customer("", text) == "Brightvale Energy"


def test_how_x_title():
    assert (
        find_customer(
            "How Farrow Freight automated shipment enquiries",
            "The freight forwarder answers thousands of e-mails a day.",
        )
        == "Farrow Freight"
    )


def test_metadata_wins():
    text = "Tidewell Grocers is a supermarket chain."
    for key in ("customer", "company", "client", "organisation", "organization"):
        assert find_customer("", text, {key: "Aldermoor City Council"}) == "Aldermoor City Council"
    assert find_customer("", text, {"customer": "  "}) == "Tidewell Grocers"


def test_vendor_products_and_competitors_are_never_the_customer():
    text = (
        "Quillon helped Tidewell Grocers answer four in ten chats. Quillon Assist suggests replies, "
        "Quillon Flow routes refunds, and Quillon replaced Zentrix CX. Quillon says the rollout took weeks. "
        "Tidewell Grocers is a supermarket chain with 140 stores."
    )
    assert find_customer("Quillon at Tidewell Grocers", text, vendor=VENDOR) == "Tidewell Grocers"


def test_people_with_roles_are_not_the_customer():
    text = (
        "Maria Jensen, Head of Customer Care at Nordvik Bank, led the pilot. Maria Jensen said the agents "
        "trusted the suggestions. Anders Holm, Chief Operating Officer, agreed. Nordvik Bank serves 1.1 "
        "million customers."
    )
    assert find_customer("", text) == "Nordvik Bank"


def test_ai_platforms_used_are_discounted():
    text = (
        "Kestrel Telecom built a support assistant using OpenAI models on Amazon Bedrock. The OpenAI models "
        "answer billing questions, and OpenAI embeddings power search. Kestrel Telecom is a mobile and "
        "broadband operator with 30 million subscribers."
    )
    assert find_customer("", text) == "Kestrel Telecom"


def test_a_product_hands_its_points_to_its_owner():
    text = (
        "Orion is an AI shopping assistant developed by Marlowe Retail Group. Orion answers questions about "
        "sizes and delivery. Orion now handles a third of all chats, and Orion suggests products."
    )
    assert find_customer("", text) == "Marlowe Retail Group"


def test_lower_case_brand_at_sentence_start():
    text = "brightloop is a small team building a scheduling app. brightloop added an assistant in 2024."
    assert find_customer("", text) == "brightloop"


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "A leading European airline reimagines customer care",
            "The airline, one of the larger carriers in southern Europe, flies 30 million passengers a year. "
            "Its contact centre handles rebookings and baggage questions.",
        ),
        (
            "Why fast-growing fashion brands bet on AI",
            "A mid-sized Polish online fashion retailer cut its response times in half. The retailer sells "
            "clothing and shoes in six countries.",
        ),
    ],
)
def test_anonymous_customers_return_none(title, text):
    assert find_customer(title, text) is None
    assert is_anonymous(title, text)


def test_named_customer_is_not_anonymous():
    assert not is_anonymous("Nordvik Bank cuts handling time", "Nordvik Bank is a retail bank in Denmark.")


def test_a_panel_of_several_organisations_has_no_single_customer():
    text = (
        "This panel discussion brings together leaders from four companies. Ana from Lumora Telecom, "
        "Ben from Orvia Media and Chen from Halcyon Telecom compared notes with a moderator."
    )
    assert find_customer("Panel: lessons from production", text) is None


def test_nothing_to_find():
    assert find_customer("", "") is None
    assert find_customer("Lessons learned", "we tried things and some of them worked.") is None


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Snorkel AI, Inc.", "snorkel"),
        ("Harman International", "harman"),
        ("Brennan & Vale Insurance", "brennan and vale insurance"),
        ("Spotify's", "spotify"),
        ("Booking.com", "booking"),
    ],
)
def test_normalise_name(name, key):
    assert normalise_name(name) == key
