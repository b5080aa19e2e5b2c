/// XEP-0077: In-Band Registration (`jabber:iq:register`) §3.1–3.3, §6–8: forms, answers, errors.
///
/// Pure stanza building and parsing; the session layer sends them. Every request here
/// goes without a `to`: on a client stream that addresses the server itself (§3.2 says
/// the remove request SHOULD carry no address, and a wrong one deletes nothing).
public enum Registration {
    /// The `<register/>` stream feature namespace (§8).
    public static let streamFeature = NS.registerFeature

    /// Whether `<stream:features/>` announces in-band registration.
    public static func isOffered(in features: Element) -> Bool {
        features.child("register", namespace: streamFeature) != nil
    }

    /// The form request of §3.1 (`<iq type='get'><query/></iq>`).
    public static func formRequest(id: String) -> Element {
        IQ.request(.get, id: id, payload: Element("query", namespace: NS.register))
    }

    /// What the user is asked for one field of the form.
    public struct Prompt: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case text
            case boolean
            /// Pick from the server's options; with `allowsMultiple`, several, one per line.
            case choice([DataForm.Option])
            /// Several lines (text-multi, jid-multi): one value per line.
            case multiText
        }

        /// The legacy element name ("username") or the data-form `var`: the key of answers.
        public var key: String
        public var label: String
        public var isSecret: Bool
        public var isRequired: Bool
        public var kind: Kind
        /// A server default or the value on file; newline-joined when there are several.
        public var defaultValue: String?
        /// The data form's `<desc/>`, if any.
        public var hint: String?
        /// An answer may hold several values, one per line (list-multi, jid-multi, text-multi).
        public var allowsMultiple: Bool

        public init(
            key: String, label: String, isSecret: Bool = false, isRequired: Bool = true, kind: Kind = .text,
            defaultValue: String? = nil, hint: String? = nil, allowsMultiple: Bool = false
        ) {
            self.key = key
            self.label = label
            self.isSecret = isSecret
            self.isRequired = isRequired
            self.kind = kind
            self.defaultValue = defaultValue
            self.hint = hint
            self.allowsMultiple = allowsMultiple
        }
    }

    /// The server's answer to `formRequest`, reduced to what must be asked and sent back.
    public struct Form: Sendable, Equatable {
        /// Instructions, one line each: the data form's (plus its fixed fields) when there
        /// is one, else the legacy `<instructions/>`.
        public var instructions: String?
        /// `<registered/>`: the entity already has an account (§3.1).
        public var isRegistered: Bool
        /// What to ask, in the server's order.
        public var fields: [Prompt]
        /// When present, this is what gets submitted (§6 rule 5, §7 precedence).
        public var dataForm: DataForm?
        /// A XEP-0066 URL for registering elsewhere (§5): sole route when nothing else is asked.
        public var outOfBandURL: String?
        /// A field carries media (a CAPTCHA picture) or the form is a XEP-0158 challenge.
        public var needsUnsupportedChallenge: Bool
        /// The obsolete `<key/>` transaction key (§8), echoed back on submission.
        public var transactionKey: String?

        public init(
            instructions: String? = nil, isRegistered: Bool = false, fields: [Prompt] = [], dataForm: DataForm? = nil,
            outOfBandURL: String? = nil, needsUnsupportedChallenge: Bool = false, transactionKey: String? = nil
        ) {
            self.instructions = instructions
            self.isRegistered = isRegistered
            self.fields = fields
            self.dataForm = dataForm
            self.outOfBandURL = outOfBandURL
            self.needsUnsupportedChallenge = needsUnsupportedChallenge
            self.transactionKey = transactionKey
        }

        /// Why this form cannot be completed in tern, if it cannot.
        public var obstacle: RegistrationError? {
            if needsUnsupportedChallenge { return .unsupportedChallenge }
            if fields.isEmpty, dataForm == nil, let outOfBandURL { return .needsWebRegistration(outOfBandURL) }
            return nil
        }
    }

    /// Which request an error answers: one condition means different things at each.
    public enum Step: Sendable, Equatable {
        case form, submit, passwordChange, removal
    }

    public enum RegistrationError: Error, Sendable, Equatable, CustomStringConvertible {
        /// `<conflict/>` on submission: the username exists.
        case nameTaken
        /// The server refused what was sent, with its own words when it gave any.
        case fieldRefused(String?)
        case registrationDisabled
        /// No `<register/>` stream feature on this connection.
        case notOfferedOnThisConnection
        /// A password change or removal the server will not do for us.
        case notAuthorized
        /// Registration happens elsewhere: the URL, or the server's instructions without one.
        case needsWebRegistration(String)
        case unsupportedChallenge
        case malformedForm(String)
        case other(StanzaError)

        public init(_ error: StanzaError, during step: Step) {
            switch (error.condition, step) {
            case ("conflict", .submit):
                self = .nameTaken
            case ("not-acceptable", .submit), ("bad-request", .submit), ("jid-malformed", .submit),
                 ("not-acceptable", .passwordChange), ("bad-request", .passwordChange):
                self = .fieldRefused(error.text)
            // On submission not-allowed refuses what was sent (ejabberd: a failed CAPTCHA,
            // unacceptable password characters); on the form request it refuses registration.
            case ("not-allowed", .submit):
                self = .fieldRefused(error.text)
            case ("not-allowed", .form), ("forbidden", .form), ("not-authorized", .form),
                 ("service-unavailable", .form), ("feature-not-implemented", .form),
                 ("service-unavailable", .submit), ("feature-not-implemented", .submit),
                 ("not-authorized", .submit):
                self = .registrationDisabled
            case ("not-authorized", .passwordChange), ("not-allowed", .passwordChange), ("forbidden", .passwordChange),
                 ("service-unavailable", .passwordChange), ("feature-not-implemented", .passwordChange),
                 ("not-authorized", .removal), ("not-allowed", .removal), ("forbidden", .removal),
                 ("service-unavailable", .removal), ("feature-not-implemented", .removal):
                self = .notAuthorized
            default:
                // e.g. forbidden or policy-violation on submit (IP limits, throttling): the
                // server's text is the only useful explanation, so keep the whole error.
                self = .other(error)
            }
        }

        public var description: String {
            switch self {
            case .nameTaken: "that name is already taken on this server"
            case .fieldRefused(let text?) where !text.isEmpty: "the server refused a field: \(text)"
            case .fieldRefused: "the server refused a field (it gave no reason)"
            case .registrationDisabled: "this server does not allow in-band registration"
            case .notOfferedOnThisConnection: "this server offers no in-band registration on this connection"
            case .notAuthorized: "the server does not allow this account change here"
            case .needsWebRegistration(let target): "this server registers accounts elsewhere: \(target)"
            case .unsupportedChallenge: "the server asks for a challenge tern cannot show (e.g. a CAPTCHA)"
            case .malformedForm(let detail): "the server sent a registration form tern cannot use: \(detail)"
            case .other(let error): "the server refused: \(error.description)"
            }
        }
    }

    /// Reads the reply to `formRequest`.
    ///
    /// Throws the mapped error for an iq error, `needsWebRegistration` when nothing can
    /// be submitted but the server points elsewhere, and `malformedForm` when the reply
    /// is not a usable form. A CAPTCHA form is returned (flagged) so its text can be shown.
    public static func parseForm(_ result: Element) throws(RegistrationError) -> Form {
        guard result.name == "iq", let iq = IQ(result) else {
            throw .malformedForm("the reply is not an iq")
        }
        if iq.kind == .error {
            throw RegistrationError(
                iq.error ?? StanzaError(type: "cancel", condition: "undefined-condition"), during: .form)
        }
        guard iq.kind == .result else { throw .malformedForm("the reply is an iq \(iq.kind.rawValue)") }
        guard let query = result.child("query", namespace: NS.register) else {
            throw .malformedForm("the reply has no jabber:iq:register query")
        }

        let legacyInstructions = query.childText("instructions", namespace: NS.register).flatMap(normalizedLines)
        let url = query.child("x", namespace: NS.oob)?.childText("url", namespace: NS.oob).flatMap(trimmedNonEmpty)
        // An x:data we cannot read is ignored (§7): the legacy fields, if any, still work.
        let dataForm = query.child("x", namespace: NS.dataForms).flatMap(DataForm.init)

        var form = Form(
            isRegistered: query.child("registered", namespace: NS.register) != nil,
            dataForm: dataForm,
            outOfBandURL: url,
            transactionKey: query.child("key", namespace: NS.register)?.text)

        if let dataForm {
            form.fields = prompts(from: dataForm)
            let lines = (dataForm.instructions + dataForm.fields.filter { $0.type == .fixed }.flatMap(\.values))
                .compactMap(normalizedLines)
            form.instructions = lines.isEmpty ? legacyInstructions : lines.joined(separator: "\n")
            form.needsUnsupportedChallenge =
                dataForm.fields.contains { $0.hasMedia } || dataForm.formType == captchaFormType
        } else {
            form.fields = legacyPrompts(in: query)
            form.instructions = legacyInstructions
        }

        if form.fields.isEmpty, form.dataForm == nil, !form.isRegistered {
            if let url { throw .needsWebRegistration(url) }
            if let legacyInstructions { throw .needsWebRegistration(legacyInstructions) }
            throw .malformedForm("it asks for nothing")
        }
        return form
    }

    /// The answers to `form` (§3.1): the data form when there is one (never both, §6),
    /// else every legacy field in order, empty when unanswered (§3.1 wants them all).
    ///
    /// `values` is keyed by `Prompt.key`. Multi-valued answers are split on newlines;
    /// booleans are normalised to "1"/"0" when they read as yes/no.
    public static func submission(_ form: Form, values: [String: String], id: String) -> Element {
        var children: [Element] = []
        if let dataForm = form.dataForm {
            var answers: [String: [String]] = [:]
            for (key, value) in values {
                let field = dataForm.field(key)
                if let field, field.type.allowsMultipleValues {
                    answers[key] = value.split(whereSeparator: \.isNewline).map(String.init)
                } else if field?.type == .boolean {
                    answers[key] = [normalizedBoolean(value)]
                } else {
                    answers[key] = [value]
                }
            }
            children.append(dataForm.submission(answers))
        } else {
            for prompt in form.fields {
                children.append(registerElement(prompt.key, values[prompt.key] ?? prompt.defaultValue ?? ""))
            }
            if let key = form.transactionKey { children.append(registerElement("key", key)) }
        }
        return IQ.request(.set, id: id, payload: Element("query", namespace: NS.register, elements: children))
    }

    /// The password change of §3.3. Send it only over verified TLS (§3.3, §10).
    public static func passwordChange(username: String, newPassword: String, id: String) -> Element {
        IQ.request(.set, id: id, payload: Element(
            "query", namespace: NS.register,
            elements: [registerElement("username", username), registerElement("password", newPassword)]))
    }

    /// The cancellation of §3.2: `<remove/>` alone, no `to`, so it is about this account.
    public static func removal(id: String) -> Element {
        IQ.request(.set, id: id, payload: Element(
            "query", namespace: NS.register, elements: [Element("remove", namespace: NS.register)]))
    }

    /// Checks the reply to a submission, password change or removal: returns on a result,
    /// throws the error mapped for `step` otherwise.
    public static func checkReply(_ reply: Element, during step: Step) throws(RegistrationError) {
        guard reply.name == "iq", let iq = IQ(reply) else { throw .malformedForm("the reply is not an iq") }
        switch iq.kind {
        case .result: return
        case .error:
            throw RegistrationError(iq.error ?? StanzaError(type: "cancel", condition: "undefined-condition"), during: step)
        case .get, .set:
            throw .malformedForm("the reply is an iq \(iq.kind.rawValue)")
        }
    }

    // MARK: - Parsing helpers

    /// XEP-0158's FORM_TYPE: a challenge form, whatever its fields look like.
    private static let captchaFormType = "urn:xmpp:captcha"

    /// `<query/>` children that are not questions: markers, the echoed key, and
    /// extensions (x:data and x:oob live in other namespaces and are filtered anyway).
    private static let legacyNonFields: Set<String> = ["instructions", "registered", "remove", "key", "x"]

    /// Human labels for the §12.4.1 fields, for servers that send bare element names.
    private static let friendlyLabels: [String: String] = [
        "username": "Username", "nick": "Nickname", "password": "Password", "name": "Full name",
        "first": "Given name", "last": "Family name", "email": "Email", "address": "Street address",
        "city": "City", "state": "Region", "zip": "Postal code", "phone": "Phone", "url": "Web page",
        "date": "Date", "misc": "Other information", "text": "Text", "old_password": "Old password",
    ]

    private static let secretKeys: Set<String> = ["password", "old_password"]

    private static func legacyPrompts(in query: Element) -> [Prompt] {
        var seen = Set<String>()
        return query.elements.compactMap { child in
            guard child.namespace == NS.register, !legacyNonFields.contains(child.name),
                  seen.insert(child.name).inserted
            else { return nil }
            return Prompt(
                key: child.name,
                label: friendlyLabels[child.name] ?? child.name,
                isSecret: secretKeys.contains(child.name),
                isRequired: true,
                kind: .text,
                defaultValue: trimmedNonEmpty(child.text))
        }
    }

    private static func prompts(from form: DataForm) -> [Prompt] {
        var seen = Set<String>()
        return form.fields.compactMap { field in
            guard field.type != .hidden, field.type != .fixed,
                  let key = field.variable, seen.insert(key).inserted
            else { return nil }
            let kind: Prompt.Kind = switch field.type {
            case .boolean: .boolean
            case .listSingle, .listMulti: .choice(field.options)
            case .textMulti, .jidMulti: .multiText
            default: .text
            }
            return Prompt(
                key: key,
                label: field.label.flatMap(trimmedNonEmpty) ?? friendlyLabels[key] ?? key,
                isSecret: field.type == .textPrivate || secretKeys.contains(key),
                isRequired: field.isRequired,
                kind: kind,
                defaultValue: field.values.isEmpty ? nil : field.values.joined(separator: "\n"),
                hint: field.description.flatMap(trimmedNonEmpty),
                allowsMultiple: field.type.allowsMultipleValues)
        }
    }

    private static func registerElement(_ name: String, _ text: String) -> Element {
        Element(name, namespace: NS.register, elements: [], text: text)
    }

    /// XEP-0004 booleans are "1"/"true" and "0"/"false"; anything else goes as typed,
    /// for the server to judge.
    private static func normalizedBoolean(_ value: String) -> String {
        switch value.lowercased() {
        case "1", "true", "yes", "y", "on": "1"
        case "0", "false", "no", "n", "off": "0"
        default: value
        }
    }

    private static func trimmedNonEmpty(_ text: String) -> String? {
        let trimmed = Substring(text).drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed()
        return trimmed.isEmpty ? nil : String(trimmed)
    }

    /// Pretty-printed server text reduced to its lines, indentation and blank lines gone.
    private static func normalizedLines(_ text: String) -> String? {
        let lines = text.split(whereSeparator: \.isNewline).compactMap { trimmedNonEmpty(String($0)) }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }
}
