from fastapi import FastAPI

import restly as fr

app = FastAPI()
fr.configure(app, problem_details=True)


@fr.include_view(app)
class InvoiceView(fr.View):
    prefix = "/invoices"

    @fr.post("/{number}/pay", status_code=200)
    async def pay(self, number: int) -> dict[str, int]:
        # restly's errors take extension members: shown in problem details only
        raise fr.exc.Conflict("This invoice is already paid", extensions={"invoice": number})
