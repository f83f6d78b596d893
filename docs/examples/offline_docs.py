from fastapi import FastAPI

import restly as fr

app = FastAPI(title="Library")
fr.serve_docs_offline(app)  # /docs and /redoc load their assets from /docs-assets
