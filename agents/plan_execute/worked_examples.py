"""The planner's worked examples: questions and the plans that answer them.

Small models do not plan without them. The fixed ones are in the planner's system
prompt; the extra ones are shown only when they are among the most like the
question (``examples``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PLANNER_EXAMPLES", "PLANNER_EXTRA_EXAMPLES", "Example"]

# (question, steps): an example is shown only when every tool it uses is enabled.
Example = tuple[str, tuple[dict[str, Any], ...]]

# Shown in the system prompt on every request. None of these or of the extra examples
# is a question of the evaluation set (tests/unit/test_eval_set.py). All are
# single-step: a 135M model shown a two-step example on every request pads every plan
# to two steps.
PLANNER_EXAMPLES: tuple[Example, ...] = (
    ("What date is it in 3 days?",
     ({"tool": "datetime", "args": {"timezone": "UTC", "offset_days": 3}},)),
    ("What time is it in Tokyo?",
     ({"tool": "datetime", "args": {"timezone": "Asia/Tokyo", "offset_days": 0}},)),
    ("Which weekday was it 5 days ago?",
     ({"tool": "datetime", "args": {"timezone": "UTC", "offset_days": -5}},)),
    # A date written out is the calendar's, not today's clock: with only the clock in
    # this fixed list, "Which weekday is <date>?" was planned as an offset from today.
    # One only: with a second, "... a day; how many in 12 days?" went to the calendar.
    ("Which weekday was 9 November 1989?",
     ({"tool": "calendar", "args": {"operation": "weekday", "date": "1989-11-09"}},)),
    ("Who painted the Mona Lisa?", ()),
    ("How much is 2 to the power 8?",
     ({"tool": "calculator", "args": {"expression": "2 ** 8"}},)),
    ("Pens cost $3 each. What do 14 pens cost?",
     ({"tool": "calculator", "args": {"expression": "14 * 3"}},)),
    ("What is 30% of 90?",
     ({"tool": "calculator", "args": {"expression": "30 / 100 * 90"}},)),
    ("How many kilometres is 5 miles?",
     ({"tool": "unit_convert",
       "args": {"value": 5.0, "from_unit": "miles", "to_unit": "kilometres"}},)),
    ("How many inches are 3 metres?",
     ({"tool": "unit_convert",
       "args": {"value": 3.0, "from_unit": "metres", "to_unit": "inches"}},)),
    ("Convert 90 minutes to hours.",
     ({"tool": "unit_convert",
       "args": {"value": 90.0, "from_unit": "minutes", "to_unit": "hours"}},)),
    ("What is 212 °F in Celsius?",
     ({"tool": "unit_convert",
       "args": {"value": 212.0, "from_unit": "°F", "to_unit": "Celsius"}},)),
)

# Shown only when they are among the most similar to the question (examples.py),
# after the fixed prompt; with the fixed ones, they are what similarity picks from.
# The two-step ones reach only questions whose closest example is two-step.
PLANNER_EXTRA_EXAMPLES: tuple[Example, ...] = (
    ("Which metal is liquid at room temperature?", ()),
    ("What is 45 * 12?", ({"tool": "calculator", "args": {"expression": "45 * 12"}},)),
    ("A bag of rice weighs 5 kg. How much do 8 bags weigh?",
     ({"tool": "calculator", "args": {"expression": "8 * 5"}},)),
    ("Split a $96 bill between 4 friends. How much does each pay?",
     ({"tool": "calculator", "args": {"expression": "96 / 4"}},)),
    ("What is 17 plus 26 plus 31?",
     ({"tool": "calculator", "args": {"expression": "17 + 26 + 31"}},)),
    ("A $40 shirt is 25% off. What does it cost now?",
     ({"tool": "calculator", "args": {"expression": "40 - 25 / 100 * 40"}},)),
    ("How many millilitres are in 2 litres?",
     ({"tool": "unit_convert",
       "args": {"value": 2.0, "from_unit": "litres", "to_unit": "millilitres"}},)),
    ("Convert 5 metres to feet.",
     ({"tool": "unit_convert", "args": {"value": 5.0, "from_unit": "metres", "to_unit": "feet"}},)),
    ("What date was it 2 weeks ago?",
     ({"tool": "datetime", "args": {"timezone": "UTC", "offset_days": -14}},)),
    ("What is 6 * 7, and how many kilometres is 3 miles?",
     ({"tool": "calculator", "args": {"expression": "6 * 7"}},
      {"tool": "unit_convert",
       "args": {"value": 3.0, "from_unit": "miles", "to_unit": "kilometres"}})),
    ("Convert 2 litres to millilitres and 4 hours to minutes.",
     ({"tool": "unit_convert",
       "args": {"value": 2.0, "from_unit": "litres", "to_unit": "millilitres"}},
      {"tool": "unit_convert",
       "args": {"value": 4.0, "from_unit": "hours", "to_unit": "minutes"}})),
    ("What is 10% of 50, and what date is it in 2 days?",
     ({"tool": "calculator", "args": {"expression": "10 / 100 * 50"}},
      {"tool": "datetime", "args": {"timezone": "UTC", "offset_days": 2}})),
    ("From 10 May to 1 August, how many days are there in between?",
     ({"tool": "calendar",
       "args": {"operation": "between", "date": "05-10", "end_date": "08-01"}},)),
    ("What weekday does 14 October 2031 fall on?",
     ({"tool": "calendar", "args": {"operation": "weekday", "date": "2031-10-14"}},)),
    ("Starting on 31 December 2024, what date is 2 months later?",
     ({"tool": "calendar",
       "args": {"operation": "add", "date": "2024-12-31", "amount": 2, "unit": "months"}},)),
    ("My birthday is 9 August: how many days until then?",
     ({"tool": "calendar", "args": {"operation": "days_until", "date": "08-09"}},)),
    ("A recipe needs 2 US gallons of water; tell me the amount in litres.",
     ({"tool": "unit_convert",
       "args": {"value": 2.0, "from_unit": "US gallons", "to_unit": "litres"}},)),
    ("I own 3 hectares of land; tell me the size in acres.",
     ({"tool": "unit_convert",
       "args": {"value": 3.0, "from_unit": "hectares", "to_unit": "acres"}},)),
    ("A train's top speed is 300 km/h. Convert that to mph.",
     ({"tool": "unit_convert", "args": {"value": 300.0, "from_unit": "km/h", "to_unit": "mph"}},)),
    ("My lunch was 250 kcal; tell me the energy in kilojoules.",
     ({"tool": "unit_convert",
       "args": {"value": 250.0, "from_unit": "kcal", "to_unit": "kilojoules"}},)),
    ("Turn 32 psi into kPa.",
     ({"tool": "unit_convert", "args": {"value": 32.0, "from_unit": "psi", "to_unit": "kPa"}},)),
    ("An engine makes 150 horsepower. How many kilowatts is that?",
     ({"tool": "unit_convert",
       "args": {"value": 150.0, "from_unit": "horsepower", "to_unit": "kilowatts"}},)),
    # Requests no tool can help with. Without them, a request that shares no words
    # with any example is shown the first examples in order, all tool plans, and the
    # model plans a calculation for "Explain how ..." (dev: 5 of 6 chat requests).
    ("Explain how a vaccine protects the body.", ()),
    ("What is the opposite of the word generous?", ()),
    ("Write a short thank-you note to a colleague who helped me move.", ()),
    ("Give me three tips for staying focused while studying.", ()),
    ("Describe what happens to water when it freezes.", ()),
    # Everyday shapes a 0.5B model planned wrongly when no example was close: a rate
    # per thousand, a change in percent, a count of rows, a metric prefix (it
    # multiplied by 1000 twice), a fact no tool holds.
    ("A printer uses 3 cartridges per 1000 pages. How many cartridges for 4500 pages?",
     ({"tool": "calculator", "args": {"expression": "3 / 1000 * 4500"}},)),
    ("Rent went from $800 to $920. By what percent did it rise?",
     ({"tool": "calculator", "args": {"expression": "(920 - 800) / 800 * 100"}},)),
    ("A hall has 14 rows of 22 seats. How many seats are there?",
     ({"tool": "calculator", "args": {"expression": "14 * 22"}},)),
    ("Express 4.2 kilograms in grams.",
     ({"tool": "unit_convert", "args": {"value": 4.2, "from_unit": "kg", "to_unit": "g"}},)),
    ("Name the longest river in Africa.", ()),
    # A second question about the first one's result: the second step restates the
    # first calculation, so it needs no drafting.
    ("A crate holds 24 bottles. How many bottles are in 5 crates, and what is 10% of them?",
     ({"tool": "calculator", "args": {"expression": "24 * 5"}},
      {"tool": "calculator", "args": {"expression": "10 / 100 * (24 * 5)"}})),
    # A date written out calls for the calendar, not today's clock.
    ("Tell me the weekday of 2030-06-21.",
     ({"tool": "calendar", "args": {"operation": "weekday", "date": "2030-06-21"}},)),
    ("Count the whole weeks from 2029-02-05 to 2029-04-30.",
     ({"tool": "calendar", "args": {"operation": "between", "date": "2029-02-05",
                                    "end_date": "2029-04-30", "unit": "weeks"}},)),
    ("Add 3 months to 2029-08-31: which date is that?",
     ({"tool": "calendar",
       "args": {"operation": "add", "date": "2029-08-31", "amount": 3, "unit": "months"}},)),
    # Spans in days or weeks: without these, a 0.5B model counted "N days after <date>"
    # from today, and "N weeks" as N days (fresh probes, none in the question set).
    ("Which date comes 9 days after 2031-03-14?",
     ({"tool": "calendar",
       "args": {"operation": "add", "date": "2031-03-14", "amount": 9, "unit": "days"}},)),
    ("Which date was 4 weeks before 2030-11-20?",
     ({"tool": "calendar",
       "args": {"operation": "add", "date": "2030-11-20", "amount": -4, "unit": "weeks"}},)),
    ("Two weeks from today I fly home. Which date is that?",
     ({"tool": "datetime", "args": {"timezone": "UTC", "offset_days": 14}},)),
    ("I leave in 3 weeks: on which day of the week do I leave?",
     ({"tool": "datetime", "args": {"timezone": "UTC", "offset_days": 21}},)),
)
