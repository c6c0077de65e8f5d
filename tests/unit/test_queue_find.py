"""QuestionQueue.find: the hook collectors use to apply a deletion at the source."""

from aggregator.queue import QuestionQueue
from tests.conftest import incoming


async def test_find_by_source_and_external_id(queue: QuestionQueue) -> None:
    stored = (await queue.submit(incoming(1))).question
    assert queue.find("youtube", "m1") == stored
    assert queue.find("zoom", "m1") is None
    assert queue.find("youtube", "m2") is None
