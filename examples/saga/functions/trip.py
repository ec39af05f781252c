"""Reservation functions of the trip-booking saga.

One package, six handlers: each reservation has a compensation that undoes
it. The input may ask a step to fail ("fail": "flight" | "hotel" | "car"),
so the walkthrough can show the compensations running.
"""


class FlightUnavailable(Exception):
    pass


class HotelUnavailable(Exception):
    pass


class CarUnavailable(Exception):
    pass


def _reserve(kind, prefix, error, event):
    if event.get("fail") == kind:
        raise error(f"no {kind} available for trip {event['trip_id']}")
    return {"reservation_id": f"{prefix}-{event['trip_id']}", "status": "reserved"}


def _cancel(kind, event):
    reservation = event.get(kind) or {}
    print(f"cancelling {kind} reservation {reservation.get('reservation_id')}")
    return {"reservation_id": reservation.get("reservation_id"), "status": "cancelled"}


def reserve_flight(event, context):
    return _reserve("flight", "FL", FlightUnavailable, event)


def reserve_hotel(event, context):
    return _reserve("hotel", "HT", HotelUnavailable, event)


def reserve_car(event, context):
    return _reserve("car", "CR", CarUnavailable, event)


def cancel_flight(event, context):
    return _cancel("flight", event)


def cancel_hotel(event, context):
    return _cancel("hotel", event)


def cancel_car(event, context):
    return _cancel("car", event)
