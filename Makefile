# Roll Call: `make run` starts the site on the embedded defaults, `make test` runs every test,
# `make lint` checks the code with ruff.
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY = $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The recognition worker, as both targets start it (tests/processes.py starts the same one).
CELERY_WORKER = $(PY) -m celery -A attendance_site worker --loglevel INFO

.PHONY: run test lint venv migrate worker messages

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-web.txt requirements-dev.txt
	$(PYTHON_BIN) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Roll Call needs Python 3.11, found " + sys.version'
	$(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# The benchmark's peer library declares "dlib", which would compile; dlib-bin provides it.
	$(PY) -m pip install --quiet --no-deps face_recognition==1.3.0
	touch $@

migrate: venv
	$(PY) manage.py migrate --noinput

worker: venv
	$(CELERY_WORKER) --concurrency $${WORKER_PROCESSES:-1}

run: migrate
	@echo ""
	@echo "Roll Call is starting at http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	@echo "First time? In another terminal create the first admin:  $(PY) manage.py createsuperuser"
	@echo ""
	@# The beat schedule is kept with the site's other files, where ROLLCALL_VAR_DIR says (as settings.VAR_DIR).
	mkdir -p "$${ROLLCALL_VAR_DIR:-var}"
	$(CELERY_WORKER) --beat --schedule "$${ROLLCALL_VAR_DIR:-var}/celerybeat-schedule" --concurrency 1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: venv
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The translation catalogues: every marked string of templates/ and the apps into
# locale/<language>/LC_MESSAGES/django.po (GNU gettext's xgettext needed here, only here), then
# each .po compiled to the committed .mo with polib (docs/development.md, "Translations").
messages: venv
	$(PY) manage.py makemessages --all --no-location --no-obsolete --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(PY) manage.py makemessages --all --domain djangojs --no-location --no-obsolete --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(PY) -m attendance_site.catalogues
