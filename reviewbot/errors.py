"""The one error type the CLI turns into a one-line message and exit status 2."""


class ReviewbotError(Exception):
    """Bad input or a failed component: str() is '<input>: <problem>', one line."""

    def __init__(self, subject: str, problem: str):
        self.subject = subject
        self.problem = problem
        super().__init__(f"{subject}: {problem}")

    def __str__(self) -> str:
        return " ".join(f"{self.subject}: {self.problem}".split())
