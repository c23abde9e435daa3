// The program `python3 -I -c` runs before the user's code in the host-Python backend: resource limits, a
// process/network audit hook, then the same notebook-style runner as the Pyodide sandbox. The user's code
// arrives on stdin; the outcome is written as JSON to file descriptor 3.

/** The preamble. `sys.argv[1]` carries the limits as JSON. */
export const hostPythonPreamble: string = String.raw`
import json, os, resource, sys

limits = json.loads(sys.argv[1])


def set_limit(kind, value):
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        pass


set_limit(resource.RLIMIT_CPU, limits['cpuSeconds'])
set_limit(resource.RLIMIT_AS, limits['memoryBytes'])
set_limit(resource.RLIMIT_FSIZE, limits['fileSizeBytes'])
set_limit(resource.RLIMIT_NPROC, limits['processes'])
set_limit(resource.RLIMIT_CORE, 0)

status_stream = os.fdopen(3, 'w')
code = sys.stdin.read()
sys.stdin = open(os.devnull)

import ast, traceback

BLOCKED = {
    'os.system', 'os.exec', 'os.spawn', 'os.posix_spawn', 'os.fork', 'os.forkpty', 'subprocess.Popen',
    'pty.spawn', 'os.kill', 'os.killpg', 'socket.connect', 'socket.bind', 'socket.getaddrinfo',
    'socket.gethostbyname', 'urllib.Request', 'http.client.connect', 'ctypes.dlopen', 'sys.addaudithook',
}


def audit(event, args):
    if event in BLOCKED:
        raise PermissionError("'" + event + "' is blocked in this sandbox")


sys.addaudithook(audit)


def report(status, message=''):
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    status_stream.write(json.dumps([status, message]))
    status_stream.flush()


def format_error(error):
    lines = ''.join(traceback.format_exception(type(error), error, error.__traceback__.tb_next)).rstrip('\n').split('\n')
    keep = limits['tracebackLines']
    return '\n'.join(['...'] + lines[-keep:] if len(lines) > keep else lines)


namespace = {'__name__': '__main__', '__builtins__': __builtins__}
try:
    tree = compile(code, '<code>', 'exec', ast.PyCF_ONLY_AST)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, '<code>', 'exec'), namespace)
    if last is not None:
        value = eval(compile(last, '<code>', 'eval'), namespace)
        if value is not None:
            sys.stdout.write(repr(value))
    report('ok')
except MemoryError:
    report('memory-limit')
except PermissionError as error:
    report('forbidden' if 'blocked in this sandbox' in str(error) else 'error', format_error(error))
except BaseException as error:
    report('error', format_error(error))
`;
