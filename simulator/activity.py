"""Generation requests (flashcards, exercises, conversation simulations), saves and
feedback, plus stated preferences: what a learner *says* they like, a noisy view of the
hidden weights their listening reveals."""

from __future__ import annotations

from learnstream.contracts import (
    ContentRequested,
    ContentRequestedPayload,
    ContentSaved,
    ContentSavedPayload,
    FeedbackPayload,
    FeedbackSubmitted,
    PreferencesPayload,
    PreferencesUpdated,
)
from simulator.visit import Visit
from simulator.world import FORMATS, GENRES, TOPICS, Learner

_VOCABULARY: dict[str, tuple[tuple[str, str], ...]] = {
    "food": (("il pane", "bread"), ("la forchetta", "fork"), ("il conto", "the bill"),
             ("assaggiare", "to taste"), ("il cameriere", "waiter")),
    "travel": (("il binario", "platform"), ("il biglietto", "ticket"),
               ("in ritardo", "late"), ("la coincidenza", "connection"), ("partire", "to leave")),
    "work": (("la riunione", "meeting"), ("il collega", "colleague"),
             ("la scadenza", "deadline"), ("assumere", "to hire"), ("lo stipendio", "salary")),
    "family": (("la nonna", "grandmother"), ("il cugino", "cousin"),
               ("crescere", "to grow up"), ("il matrimonio", "wedding"),
               ("la suocera", "mother-in-law")),
}
_SCENARIOS = (
    "ordering dinner at a trattoria in Rome", "buying a train ticket in Milano Centrale",
    "a job interview at a design studio", "asking for directions in Napoli",
    "checking into a hotel in Firenze", "calling a doctor's office to book a visit",
)
_GRAMMAR = ("passato prossimo", "imperfetto", "congiuntivo presente", "pronomi diretti",
            "articoli determinativi")
_FEEDBACK = {
    1: "Too hard, I could not follow it.", 2: "Some words were wrong.", 3: "OK.",
    4: "Useful, thanks!", 5: "Exactly what I needed.",
}


def request_content(visit: Visit) -> None:
    """Ask the generator for practice material; sometimes save it and rate it."""
    learner = visit.learner
    rng = learner.rng
    topic = max(TOPICS[:4], key=lambda t: learner.topic_weights[t] + rng.gauss(0.0, 0.5))
    kind = rng.choice(("flashcards", "flashcards", "exercises", "simulation"))
    if kind == "flashcards":
        query = f"flashcards for {topic} vocabulary, {_level_words(learner)}"
        data: dict[str, object] = {
            "cards": [{"front": it, "back": en} for it, en in _VOCABULARY[topic]]
        }
    elif kind == "exercises":
        grammar = rng.choice(_GRAMMAR)
        query = f"exercises on the {grammar} with {topic} examples"
        data = {"exercises": [
            {"sentence": f"{it.capitalize()} ___ qui.", "answer": "è", "grammar": grammar}
            for it, _ in _VOCABULARY[topic][:3]
        ]}
    else:
        scenario = rng.choice(_SCENARIOS)
        query = f"a conversation simulation: {scenario}"
        data = {"title": scenario, "setting": scenario, "turns": rng.randint(6, 14)}
    requested = visit.record(
        ContentRequested,
        ContentRequestedPayload(
            content_type=kind,
            query_text=query,
            target_language="it",
            base_language="en",
            request_metadata={"level": _level_words(learner)},
            response_metadata={"model": "gpt-4o-mini", "generation_ms": rng.randint(900, 9000)},
        ),
    )
    visit.wait(rng.uniform(5.0, 60.0))
    satisfaction = learner.topic_weights[topic] + rng.gauss(0.0, 0.7)
    related = requested.event_id
    if rng.random() < 0.35 + 0.2 * (satisfaction > 0):
        saved = visit.record(
            ContentSaved,
            ContentSavedPayload(
                content_type=kind,
                original_query=query,
                content_data=data,
                user_label=topic if rng.random() < 0.4 else None,
                requested_event_id=requested.event_id,
            ),
        )
        related = saved.event_id
        visit.wait(rng.uniform(2.0, 10.0))
    if rng.random() < 0.15:
        rating = max(1, min(5, round(3.2 + satisfaction)))
        visit.record(
            FeedbackSubmitted,
            FeedbackPayload(
                rating=rating,
                feedback_text=_FEEDBACK[rating] if rng.random() < 0.5 else None,
                related_event_id=related,
                context_details={"query": query},
            ),
        )
        visit.wait(rng.uniform(2.0, 10.0))


def state_preferences(visit: Visit) -> None:
    """Record what the learner says they prefer (noisy, thresholded hidden weights)."""
    learner = visit.learner
    rng = learner.rng
    formats = sorted(FORMATS, key=lambda f: -learner.format_weights[f])
    stated_formats = [f for f in formats if learner.format_weights[f] + rng.gauss(0, 0.4) > 0.3]
    genres = sorted(GENRES, key=lambda g: -learner.genre_weights[g])
    stated_genres = [g for g in genres if learner.genre_weights[g] + rng.gauss(0, 0.5) > 0.6]
    visit.record(
        PreferencesUpdated,
        PreferencesPayload(
            difficulty_preference=_level_words(learner),
            preferred_formats=stated_formats or formats[:1],
            preferred_genres=stated_genres[:4],
            playback_speed=learner.playback_rate,
            auto_play=rng.random() < 0.8,
        ),
    )
    visit.wait(rng.uniform(2.0, 15.0))


def _level_words(learner: Learner) -> str:
    if learner.ability < -0.5:
        return "beginner"
    return "intermediate" if learner.ability < 0.7 else "advanced"
