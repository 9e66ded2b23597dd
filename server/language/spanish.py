"""The server's own words in Spanish: every text a member or facilitator may read from the
server (error messages, refusal reasons, notices, close reasons), keyed by its English text
as the code writes it, gettext-style. Codes never change; only the words do.

`EXACT` holds whole texts. `TEMPLATES` holds texts with parts the code fills in (`{}` in the
English, `{0}`, `{1}` … in the Spanish, in the English order); the parts are kept as they
are (names of fields, numbers). Warm, plain Latin-American Spanish, `tú` form.
"""

from __future__ import annotations

__all__ = ["EXACT", "TEMPLATES"]

EXACT: dict[str, str] = {
    # Signing in and accounts (PROTOCOL §2)
    "sign in first": "Primero inicia sesión.",
    "signed out": "Tu sesión se cerró.",
    "logged out": "Tu sesión se cerró.",
    "this origin may not make changes": "Este sitio no tiene permiso para hacer cambios.",
    "origin refused": "Este sitio no tiene permiso para conectarse.",
    "registration is closed": "El registro de cuentas nuevas está cerrado.",
    "too many registrations; try again later": (
        "Se crearon demasiadas cuentas desde aquí; inténtalo más tarde."
    ),
    "that username is taken": "Ese nombre de usuario ya está en uso.",
    "too many attempts; try again later": "Demasiados intentos; inténtalo más tarde.",
    "wrong username or password": "El nombre de usuario o la contraseña no son correctos.",
    "this password is too common or too easy to guess": (
        "Esa contraseña es muy común o muy fácil de adivinar."
    ),
    "username must be 3–32 of a-z 0-9 _ . -, starting with a letter or digit": (
        "El nombre de usuario debe tener de 3 a 32 caracteres (a-z 0-9 _ . -) "
        "y empezar con una letra o un número."
    ),
    "display_name must be 1 to 64 characters": (
        "Tu nombre visible debe tener de 1 a 64 caracteres."
    ),
    "display_name must not be blank": "Tu nombre visible no puede quedar en blanco.",
    "display_name must not hold control characters": (
        "Tu nombre visible no puede tener caracteres de control."
    ),
    "language must be one of en, es": "El idioma debe ser en (inglés) o es (español).",
    "admins only": "Solo para quienes administran Hearth.",
    # Requests
    "body is not JSON": "La solicitud no es JSON.",
    "body must be a JSON object": "La solicitud debe ser un objeto JSON.",
    "the server failed; this is a bug": "El servidor falló; es un error nuestro.",
    "a dependency is unavailable; try again": (
        "Un servicio que necesitamos no está disponible; inténtalo de nuevo."
    ),
    "Not Found": "No se encontró.",
    "Method Not Allowed": "Esa acción no está permitida aquí.",
    # Rooms
    "no such room": "Esa sala no existe.",
    "room is gone": "Esa sala ya no existe.",
    "not allowed in this room": "No tienes acceso a esta sala.",
    "no longer allowed in this room": "Ya no tienes acceso a esta sala.",
    "title is required": "Falta el título (title).",
    "that slug is taken": "Ese identificador (slug) ya está en uso.",
    "slug cannot be changed": "El identificador (slug) no se puede cambiar.",
    "slug must be 2–64 of a-z 0-9 -, starting with a letter or digit": (
        "El identificador (slug) debe tener de 2 a 64 caracteres (a-z 0-9 -) "
        "y empezar con una letra o un número."
    ),
    "body must be {role: member or facilitator}": (
        "La solicitud debe ser {role: member o facilitator}."
    ),
    "locked must be true or false": "locked debe ser true o false.",
    "blocked_terms must be a list of up to 500 short texts": (
        "blocked_terms debe ser una lista de hasta 500 textos cortos."
    ),
    "hooks must be null or a list of hook names": (
        "hooks debe ser null o una lista de nombres de reglas."
    ),
    # Transcripts
    "only this room's facilitators may read its transcript": (
        "Solo quienes facilitan esta sala pueden leer su transcripción."
    ),
    "only this room's facilitators may export its transcript": (
        "Solo quienes facilitan esta sala pueden descargar su transcripción."
    ),
    "format must be md or json": "El formato debe ser md o json.",
    "since must not be after until": "since no puede ser posterior a until.",
    "too many messages in that period: narrow since and until": (
        "Hay demasiados mensajes en ese periodo: acorta el rango entre since y until."
    ),
    "this room keeps no transcript": "Esta sala no guarda transcripción.",
    "not sent: the transcript cannot be saved right now; try again in a moment": (
        "No se envió: ahora no podemos guardar la transcripción; inténtalo de nuevo en un momento."
    ),
    # The socket (PROTOCOL §3)
    "you have not entered the room yet": "Todavía no has entrado a la sala.",
    "binary frames are not accepted": "No se aceptan mensajes binarios.",
    "frame is not valid JSON text": "El mensaje no es texto JSON válido.",
    "frame is not valid Unicode text": "El mensaje no es texto Unicode válido.",
    "frame must be a JSON object": "El mensaje debe ser un objeto JSON.",
    "frame has no type": "Al mensaje le falta el tipo (type).",
    "unknown frame type": "Ese tipo de mensaje no existe.",
    "slow down": "Ve un poco más despacio.",
    "too many bad frames": "Demasiados mensajes no válidos.",
    "the room is full": "La sala está llena.",
    "too many reports; try again later": "Demasiados avisos; inténtalo más tarde.",
    "this room has too many open reports": "Esta sala tiene demasiados avisos abiertos.",
    "too slow: reconnect to resume": "Conexión lenta: vuelve a conectarte para seguir.",
    "the server could not do that now; try again": (
        "El servidor no pudo hacerlo ahora; inténtalo de nuevo."
    ),
    "the server could not let you in now; try again": (
        "El servidor no pudo dejarte entrar ahora; inténtalo de nuevo."
    ),
    "connection between servers was interrupted: resume": (
        "Se interrumpió la conexión entre servidores: vuelve a conectarte."
    ),
    "numbering restarted: enter again": "Se reinició la numeración: vuelve a entrar.",
    "could not confirm your access: enter again": (
        "No pudimos confirmar tu acceso: vuelve a entrar."
    ),
    "server shutting down": "El servidor se está reiniciando.",
    "body must not be empty or only white space": (
        "El mensaje no puede estar vacío ni tener solo espacios."
    ),
    "body holds a control character": "El mensaje tiene un carácter de control.",
    "body holds an unpaired surrogate": "El mensaje tiene un carácter no válido.",
    "reaction must be nod, heart, hug or clap": ("La reacción debe ser nod, heart, hug o clap."),
    "no such message": "Ese mensaje no existe.",
    "a facilitator has muted you for now": (
        "Alguien del equipo de facilitación te silenció por ahora."
    ),
    "only facilitators may post while the room is locked": (
        "Mientras la sala está cerrada, solo quienes facilitan pueden escribir."
    ),
    "slow mode is on": "El modo lento está activado.",
    # Moderation (PROTOCOL §3 `mod`)
    "only facilitators may do that": "Solo quienes facilitan pueden hacer eso.",
    "moderation is not available here": "La moderación no está disponible aquí.",
    "no such pin": "Ese mensaje fijado no existe.",
    "no such flag": "Esa alerta no existe.",
    "no such user": "Esa persona no existe.",
    "facilitators cannot act on facilitators or admins": (
        "Quienes facilitan no pueden actuar sobre otras personas facilitadoras "
        "ni sobre quienes administran."
    ),
    "that user is not in the room": "Esa persona no está en la sala.",
    "that user is not waiting": "Esa persona no está en la sala de espera.",
    "no such message (its words must still be kept)": (
        "Ese mensaje no existe (su texto aún debe estar guardado)."
    ),
    "pin needs a message_id or a body": "Para fijar hace falta message_id o body.",
    "no such held message": "Ese mensaje retenido no existe.",
    "seconds must be at least 1": "seconds debe ser al menos 1.",
    "seconds must be from 0 to 3600": "seconds debe ser de 0 a 3600.",
    "removed": "Te retiraron de la sala.",
    "banned": "Ya no puedes entrar a esta sala.",
    "not admitted": "No te dieron acceso esta vez.",
    "the session has ended": "La reunión terminó.",
    # Moderation hooks: reasons and private notices
    "a moderation rule refused this message": "Una regla de moderación no permitió este mensaje.",
    "this message uses a term this group has agreed not to use": (
        "Este mensaje usa una palabra que el grupo acordó no usar."
    ),
    "this message could not be checked right now; please try again": (
        "No pudimos revisar este mensaje ahora; inténtalo de nuevo."
    ),
    "personal contact details": "datos de contacto personales",
    "crisis language": "lenguaje de crisis",
    # … (sent while …): why a crisis message was refused, yet heard
    "muted": "estaba silenciado/a",
    "the room was locked": "la sala estaba cerrada",
    "slow mode was on": "el modo lento estaba activado",
    "reported": "reportado",
    "Sharing phone numbers or e-mail addresses is usually against this group's agreement; "
    "your facilitator has been told.": (
        "Compartir números de teléfono o correos electrónicos suele ir en contra del acuerdo "
        "de este grupo; ya le avisamos a quien facilita."
    ),
    "held for review": "Retenido para revisión.",
    "A facilitator did not approve your message.": (
        "Alguien del equipo de facilitación no aprobó tu mensaje."
    ),
    "Your message is waiting for a facilitator's review.": (
        "Tu mensaje está esperando a que alguien del equipo de facilitación lo revise."
    ),
    # Group sessions, attendance and private check-ins
    "no such session": "Esa reunión no existe.",
    "no such request": "Esa solicitud no existe.",
    "only this room's facilitators may see its attendance": (
        "Solo quienes facilitan esta sala pueden ver su asistencia."
    ),
    "a check-in is opened from its group": "Una conversación privada se abre desde su grupo.",
    "check-ins are with members": "Las conversaciones privadas son con personas del grupo.",
    "only members of a group ask for a check-in": (
        "Solo las personas del grupo pueden pedir una conversación privada."
    ),
    "that member is not in the room": "Esa persona no está en la sala.",
    "max_participants must be null or a whole number from 2 to 1000": (
        "max_participants debe ser null o un número entero de 2 a 1000."
    ),
    "timezone must be an IANA time zone name such as America/Chicago": (
        "timezone debe ser el nombre de una zona horaria IANA, como America/Chicago."
    ),
    # Account safety
    "session ended: sign in again": "Tu sesión terminó: vuelve a iniciar sesión.",
    "the current password is not right": "La contraseña actual no es correcta.",
    "the password is not right": "La contraseña no es correcta.",
    "wrong username, password or code": (
        "El nombre de usuario, la contraseña o el código no son correctos."
    ),
    "enter the code from your authenticator app": "Escribe el código de tu app de autenticación.",
    "set up two-step sign-in first": "Primero configura la verificación en dos pasos.",
    "start the set-up first": "Primero empieza la configuración.",
    "that code is not right; check the app's clock and try again": (
        "Ese código no es correcto; revisa la hora de la app e inténtalo de nuevo."
    ),
    "two-step sign-in is already on; turn it off first": (
        "La verificación en dos pasos ya está activada; primero desactívala."
    ),
    "two-step sign-in is required for staff": "El equipo necesita verificación en dos pasos.",
    "you cannot disable your own account": "No puedes desactivar tu propia cuenta.",
    "disabled must be true or false": "disabled debe ser true o false.",
    "before must be a user id": "before debe ser el id de una persona usuaria.",
    "before names no user": "before no corresponde a ninguna persona usuaria.",
    "q is up to 32 of a-z 0-9 _ . -": "q debe tener hasta 32 caracteres (a-z 0-9 _ . -).",
    # Hardening, shutdown, people of a room
    "body is nested too deeply": "La solicitud tiene demasiados niveles anidados.",
    "frame is nested too deeply": "El mensaje tiene demasiados niveles anidados.",
    "server shutting down: reconnect": "El servidor se está reiniciando: vuelve a conectarte.",
    "you may not read this room's transcript": "No puedes leer la transcripción de esta sala.",
    "only this room's facilitators may see its bans": (
        "Solo quienes facilitan esta sala pueden ver sus bloqueos."
    ),
    # The transcript export's header (placeholders in braces are filled afterwards)
    "# Transcript: {title}": "# Transcripción: {title}",
    "- Room: {title} (`{slug}`)": "- Sala: {title} (`{slug}`)",
    "- Period: {since} to {until}": "- Periodo: del {since} al {until}",
    "- Exported: {at} by {who}": "- Descargada: {at} por {who}",
    "- Messages: {count}": "- Mensajes: {count}",
    "Only the messages of members who consented to be recorded are included; "
    "the words of others were never stored.": (
        "Solo se incluyen los mensajes de quienes aceptaron que se guardaran; "
        "las palabras de los demás nunca se guardaron."
    ),
    "_No recorded messages in this period._": "_No hay mensajes guardados en este periodo._",
    "member": "participante",
    "facilitator": "facilitador/a",
    "admin": "administrador/a",
}

TEMPLATES: list[tuple[str, str]] = [
    ("removed: you may rejoin in {} min", "Te retiraron de la sala: puedes volver en {0} min."),
    ("unknown action: {}", "Esa acción no existe: {0}"),
    ("missing field: {}", "Falta el campo {0}."),
    ("unknown setting: {}", "Ese ajuste no existe: {0}"),
    ("body is longer than {} characters", "El mensaje tiene más de {0} caracteres."),
    ("password must be {} to {} characters", "La contraseña debe tener de {0} a {1} caracteres."),
    ("request body is over {} bytes", "La solicitud pasa de {0} bytes."),
    ("{} must be a whole number from {} to {}", "{0} debe ser un número entero de {1} a {2}."),
    ("{} must be a whole number of at least {}", "{0} debe ser un número entero de al menos {1}."),
    ("{} must be a whole number from {}", "{0} debe ser un número entero desde {1}."),
    ("{} must be an integer", "{0} debe ser un número entero."),
    ("{} must be from {} to {}", "{0} debe estar entre {1} y {2}."),
    ("{} must be text of {} to {} characters", "{0} debe ser un texto de {1} a {2} caracteres."),
    ("{} must be one of {}", "{0} debe ser uno de estos valores: {1}."),
    ("{} (delivered: crisis)", "{0} (entregado: crisis)"),
    (
        "schedule must be a list of up to {} meeting times",
        ("schedule debe ser una lista de hasta {0} horarios de reunión."),
    ),
    ("{} must be {weekday, start, minutes}", "{0} debe ser {{weekday, start, minutes}}."),
    ('{}.start must be "HH:MM" (24 h)', '{0}.start debe ser "HH:MM" (24 h).'),
    (
        "{}.weekday must be 0 (Monday) to 6 (Sunday)",
        "{0}.weekday debe ser de 0 (lunes) a 6 (domingo).",
    ),
    ("the request body took over {} s to arrive", "La solicitud tardó más de {0} s en llegar."),
    ("crisis language (sent while {})", "lenguaje de crisis (enviado mientras {0})"),
    # msgspec's validation messages, for a request or frame of the wrong shape
    ("Object missing required field `{}`", "Falta el campo obligatorio `{0}`."),
    ("Object missing required field `{}` - at `{}`", "Falta el campo obligatorio `{0}` en `{1}`."),
    ("Object contains unknown field `{}`", "Hay un campo desconocido: `{0}`."),
    ("Object contains unknown field `{}` - at `{}`", "Hay un campo desconocido `{0}` en `{1}`."),
    ("Expected `{}`, got `{}`", "Se esperaba `{0}` y llegó `{1}`."),
    ("Expected `{}`, got `{}` - at `{}`", "Se esperaba `{0}` y llegó `{1}` en `{2}`."),
]
