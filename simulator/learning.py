"""Courses inside a visit: enrolment, lesson study with resume positions, quizzes and
single-item practice. Answers follow a 2PL IRT model,
P(correct) = sigmoid(discrimination * (ability - difficulty)), and practice raises ability
by the learner's hidden learning rate."""

from __future__ import annotations

from datetime import datetime

from learnstream.contracts import (
    AssessmentSubmitted,
    AssessmentSubmittedPayload,
    CourseEnrolled,
    CourseEnrolledPayload,
    LessonCompleted,
    LessonCompletedPayload,
    LessonPosition,
    LessonPositionPayload,
    LessonStarted,
    LessonStartedPayload,
)
from simulator.visit import Visit, timestamp
from simulator.world import AssessmentItem, Course, Enrolment, Learner, sigmoid

#: Ability gained per unit of practice, as multiples of the learner's learning rate.
LEARNING_MODEL: dict[str, float] = {
    "gain_per_study_10min": 0.8,
    "gain_per_quiz_item": 0.1,
    "gain_per_practice_item": 0.08,
    "lesson_abandon_probability": 0.1,
}


def study(visit: Visit, courses: tuple[Course, ...]) -> None:
    """Maybe enrol, then maybe work on the current lesson and practise earlier ones."""
    learner = visit.learner
    rng = learner.rng
    active = next((e for e in learner.enrolments if not e.finished), None)
    if active is None:
        if rng.random() >= 0.15 + 0.5 * learner.study_propensity:
            return
        active = _enrol(visit, courses)
        if active is None:
            return
    if rng.random() < 0.35 + 0.6 * learner.study_propensity:
        _study_lesson(visit, active)
    if active.next_lesson > 0 and rng.random() < 0.2 + 0.5 * learner.study_propensity:
        _practise(visit, active)


def _enrol(visit: Visit, courses: tuple[Course, ...]) -> Enrolment | None:
    learner = visit.learner
    taken = {e.course.course_id for e in learner.enrolments}
    open_courses = [c for c in courses if c.course_id not in taken]
    if not open_courses:
        return None
    # Learners pick courses near their level, with some noise (they read the description).
    course = min(open_courses, key=lambda c: abs(c.level - learner.ability) + learner.rng.random())
    visit.record(
        CourseEnrolled,
        CourseEnrolledPayload(course_id=course.course_id, lesson_count=len(course.lessons)),
    )
    enrolment = Enrolment(course)
    learner.enrolments.append(enrolment)
    visit.wait(learner.rng.uniform(2.0, 20.0))
    return enrolment


def _study_lesson(visit: Visit, enrolment: Enrolment) -> None:
    learner = visit.learner
    rng = learner.rng
    lesson = enrolment.course.lessons[enrolment.next_lesson]
    course_id = enrolment.course.course_id
    attempts = enrolment.quiz_attempts.get(lesson.quiz.assessment_id, 0)
    visit.record(
        LessonStarted,
        LessonStartedPayload(lesson_id=lesson.lesson_id, course_id=course_id,
                             module_id=lesson.module_id),
    )
    # A retry after a failed quiz is a shorter review of the same lesson.
    seconds = lesson.study_minutes * 60.0 * rng.uniform(0.7, 1.3) * (0.5 if attempts else 1.0)
    spent = 0.0
    section = 0
    while spent < seconds:
        delta = min(seconds - spent, rng.uniform(60.0, 180.0))
        spent += delta
        section += 1
        visit.wait(delta)
        visit.record(
            LessonPosition,
            LessonPositionPayload(
                lesson_id=lesson.lesson_id,
                course_id=course_id,
                position={"section": section, "offset_seconds": int(spent)},
                time_spent_delta=int(delta),
            ),
        )
    learner.ability += learner.learning_rate * LEARNING_MODEL["gain_per_study_10min"] * spent / 600
    if rng.random() < LEARNING_MODEL["lesson_abandon_probability"]:
        return  # closed the app mid-lesson; the resume position is all that is left
    attempt = attempts + 1
    enrolment.quiz_attempts[lesson.quiz.assessment_id] = attempt
    correct, answers, taken = _answer(learner, lesson.quiz.items)
    started = visit.clock
    visit.wait(taken)
    visit.record(
        AssessmentSubmitted,
        AssessmentSubmittedPayload(
            assessment_id=lesson.quiz.assessment_id,
            lesson_id=lesson.lesson_id,
            course_id=course_id,
            skills=lesson.quiz.skills,
            answers=answers,
            score=float(correct),
            max_score=float(len(lesson.quiz.items)),
            passing_score=lesson.quiz.passing_score,
            declared_difficulty=lesson.quiz.declared_difficulty,
            attempt_number=attempt,
            time_taken=int(taken),
            started_at=_at(started),
        ),
    )
    learner.ability += (
        learner.learning_rate * LEARNING_MODEL["gain_per_quiz_item"] * len(lesson.quiz.items)
    )
    percent = round(100.0 * correct / len(lesson.quiz.items), 2)
    if percent >= lesson.quiz.passing_score or attempt >= lesson.quiz.max_attempts:
        visit.wait(rng.uniform(1.0, 5.0))
        visit.record(
            LessonCompleted,
            LessonCompletedPayload(
                lesson_id=lesson.lesson_id,
                course_id=course_id,
                score=percent,
                time_spent_delta=int(taken),
            ),
        )
        enrolment.next_lesson += 1


def _practise(visit: Visit, enrolment: Enrolment) -> None:
    """Single-question items from lessons already done: knowledge-tracing data."""
    learner = visit.learner
    rng = learner.rng
    pool = [i for lesson in enrolment.course.lessons[: enrolment.next_lesson]
            for i in lesson.practice]
    for item in rng.sample(pool, min(len(pool), rng.randint(3, 8))):
        attempt = enrolment.item_attempts.get(item.item_id, 0) + 1
        enrolment.item_attempts[item.item_id] = attempt
        correct, answers, taken = _answer(learner, (item,))
        started = visit.clock
        visit.wait(taken)
        visit.record(
            AssessmentSubmitted,
            AssessmentSubmittedPayload(
                assessment_id=item.assessment_id,
                lesson_id=item.lesson_id,
                course_id=item.course_id,
                skills=[item.skill],
                answers=answers,
                score=float(correct),
                max_score=1.0,
                declared_difficulty=item.declared_difficulty,
                attempt_number=attempt,
                time_taken=int(taken),
                started_at=_at(started),
            ),
        )
        learner.ability += learner.learning_rate * LEARNING_MODEL["gain_per_practice_item"]
        visit.wait(rng.uniform(1.0, 4.0))


def _answer(
    learner: Learner, items: tuple[AssessmentItem, ...]
) -> tuple[int, dict[str, dict[str, object]], float]:
    """Answer ``items`` at the learner's current ability: (correct count, answers, seconds)."""
    rng = learner.rng
    correct = 0
    answers: dict[str, dict[str, object]] = {}
    seconds = 0.0
    for item in items:
        ok = rng.random() < sigmoid(item.discrimination * (learner.ability - item.difficulty))
        took = rng.uniform(8.0, 45.0)
        correct += ok
        seconds += took
        answers[item.item_id] = {"correct": ok, "response_ms": int(took * 1000)}
    return correct, answers, seconds


def _at(ts: float) -> datetime:
    return timestamp(round(ts, 3))
