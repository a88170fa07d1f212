from wganlab.training.schedule import CriticSchedule


def test_constant_schedule():
    schedule = CriticSchedule(5)
    assert [schedule.steps_before(s) for s in (0, 1, 24, 25, 500, 1000)] == [5] * 6


def test_arjovsky_burst():
    schedule = CriticSchedule(5, burst=True)
    assert all(schedule.steps_before(s) == 100 for s in range(25))
    assert schedule.steps_before(25) == 5
    assert schedule.steps_before(499) == 5
    assert schedule.steps_before(500) == 100 and schedule.steps_before(1000) == 100
    assert schedule.steps_before(501) == 5
