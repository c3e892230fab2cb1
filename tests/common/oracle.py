"""tests/common/oracle.py — what the parity scripts share: running under the oracle venv
(.venv-oracle from scripts/oracle_venv.sh, or $SN_ORACLE_VENV), with Ultralytics 8.4, torch and
cv2; exit 77 (ctest's skip) when it is absent."""
import os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def reexec_in_oracle_venv():
    """Re-executes the calling script with the oracle venv's python (once); exits 77 with a
    message when there is no venv."""
    v = os.environ.get("SN_ORACLE_VENV", os.path.join(ROOT, ".venv-oracle"))
    py = os.path.join(v, "bin", "python")
    if os.environ.get("SN_PARITY_REEXEC"):
        return
    if not os.path.exists(py):
        print("skipped: no oracle venv at %s (run scripts/oracle_venv.sh)" % v)
        sys.exit(77)
    os.environ["SN_PARITY_REEXEC"] = "1"
    os.execv(py, [py] + sys.argv)
