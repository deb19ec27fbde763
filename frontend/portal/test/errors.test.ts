import { ApiError, toApiError } from "@tapwork/shared";
import { describe, expect, it } from "vitest";
import { explain } from "../src/errors";
import { createPortalI18n } from "../src/i18n";

const english = createPortalI18n(null, ["en"]);
const spanish = createPortalI18n(null, ["es"]);

// Bodies exactly as the API sends them (see tests/permissions/test_bad_input.py).
const badTimes = toApiError(422, {
  error: {
    code: "INVALID_ATTENDANCE_TIMES",
    message: "Invalid input: body.check_out_at (must not be before check_in_at)",
    details: { fields: [{ field: "body.check_out_at", message: "must not be before check_in_at", type: "before_check_in" }] },
  },
});
const badEmail = toApiError(422, {
  error: {
    code: "VALIDATION_ERROR",
    message: "Invalid input: body.email",
    details: { fields: [{ field: "body.email", message: "value is not a valid email address: An email address must have an @-sign.", type: "value_error" }] },
  },
});
const inUse = toApiError(409, {
  error: { code: "DEPARTMENT_IN_USE", message: "11 user(s) still belong to this department; move them first", details: { member_count: 11 } },
});
const taken = toApiError(409, { error: { code: "EMAIL_TAKEN", message: "A user with this email already exists", details: { field: "email" } } });

describe("one mapping from API error to a sentence at the field", () => {
  it("puts a check-out before the check-in next to the check-out, in both languages", () => {
    expect(explain(english, badTimes).fields).toEqual([{ field: "check_out_at", message: "Check-out must be after check-in." }]);
    expect(explain(spanish, badTimes).fields).toEqual([{ field: "check_out_at", message: "La salida debe ser posterior a la entrada." }]);
  });
  it("explains a bad email without pydantic's words", () => {
    const en = explain(english, badEmail);
    expect(en.fields).toEqual([{ field: "email", message: "Enter a valid email address, like ana@example.com." }]);
    expect(en.message).not.toContain("body.");
    expect(explain(spanish, badEmail).fields[0]?.message).toBe("Escribe un correo válido, como ana@ejemplo.com.");
  });
  it("says a department in use in the reader's language, not the server's English", () => {
    expect(explain(spanish, inUse).message).toBe("Hay empleados en este departamento: muévelos a otro primero.");
    expect(explain(english, inUse).message).not.toContain("user(s)");
  });
  it("places a conflict on the field it names", () => {
    expect(explain(english, taken).fields).toEqual([{ field: "email", message: "Someone already uses this email address." }]);
  });
  it("never shows a developer message for an unknown code", () => {
    const odd = new ApiError(400, "SOMETHING_NEW", "internal detail: frobnicator failed");
    expect(explain(english, odd).message).toBe("Something went wrong. Please try again.");
    expect(explain(spanish, new ApiError(500, "INTERNAL_ERROR", "boom")).message).toContain("servidor");
  });
});
