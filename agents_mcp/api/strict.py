"""Base class of the generated request models: strict about unknown fields."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A request body part. Unknown fields are errors, so typos surface before a request is sent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
