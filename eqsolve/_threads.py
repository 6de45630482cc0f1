"""Thread counts for small work: torch's and the BLAS's one-thread-per-core defaults
oversubscribe a busy machine (measured: one thread was 5x faster than the default with other
work on 2 cores; the demo's 1024-unknown rank took 32 s instead of 0.1 s of CPU).

>>> set_blas_threads(1) in (True, False)
True
"""

from __future__ import annotations

import ctypes

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
            "openblas_set_num_threads", "MKL_Set_Num_Threads")


def set_blas_threads(n: int) -> bool:
    """Limit numpy's BLAS to ``n`` threads for the rest of the process; True when it worked.

    Uses threadpoolctl when it is installed, else the BLAS libraries already loaded into the
    process (OpenBLAS, MKL), else does nothing (the environment variables
    ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` still work when set before Python starts).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(n)
        return True
    done = False
    for path in _loaded_blas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(n))
                done = True
                break
    return done


def _loaded_blas() -> list[str]:
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "blas" in line.lower() or "mkl_rt" in line.lower()}
    except OSError:  # not Linux: rely on threadpoolctl or the environment
        return []
    return sorted(p for p in paths if p.startswith("/"))
