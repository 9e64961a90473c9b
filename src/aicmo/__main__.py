from aicmo.cli import run

run()
