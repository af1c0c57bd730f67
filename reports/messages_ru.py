"""The Russian texts of the reports and the bot (the default language); keys as in messages_en.py."""

RU: dict[str, str] = {
    "summary_title": "Итоги дня {date} ({weekday})",
    "csat": "Удовлетворённость (CSAT)",
    "operator_load": "Загрузка операторов",
    "vs_last_week": "к {weekday} {date}",
    "no_comparison": "нет данных за прошлую неделю",
    "absolute_change": "{change} с {previous}",
    "of_customers": "из {total} клиентов",
    "csat_value": "{mean} из 5{change}, {share} оценок 4–5 ({count})",
    "load_value": "занятость {occupancy}, {per_hour} звонка на оператора в час",
    "missed_value": "{count} из {offered} ({rate})",
    "conversion": "Звонки → заказы",
    "recovery": "Не перезвонили",
    "recovery_value": "{count} клиентов, ожидаемая потеря выручки {amount}",
    "recovery_section": "Кому перезвонить: первые {count} по ожидаемой потере выручки",
    "recovery_caller": "Телефон",
    "recovery_known": "Клиент",
    "recovery_orders": "Заказов всего",
    "recovery_attempts": "Попыток",
    "recovery_waited": "Ждал",
    "recovery_last_try": "Последняя попытка",
    "recovery_expected": "Ожидаемая потеря",
    "yes": "да",
    "no": "нет",
    "conversion_value": "{rate} ({converted} из {answered} принятых), {revenue} на принятый звонок",
    "no_value": "—",
    "detailed_report": "Подробный отчёт",
    "no_data": "Нет данных за {date}: витрины за этот день пусты. Проверьте, что конвейер отработал.",
    "telegram_not_configured": "Telegram не настроен (TELEGRAM_BOT_TOKEN): сводка выведена здесь, отчёт сохранён в файлы.",
    # detailed report / HTML
    "report_title": "Отчёт по сети за {date}",
    "report_version": "версия {version}, сформирован {generated_at}",
    "data_freshness": "Данные по состоянию на",
    "latest_order": "последний заказ",
    "latest_call": "последний звонок",
    "kpi_section": "Ключевые показатели",
    "charts_section": "По часам",
    "chart_orders_by_hour": "Заказы по часам",
    "chart_calls_by_hour": "Звонки по часам: отвеченные и неотвеченные",
    "chart_asa_by_hour": "Среднее ожидание ответа по часам, с",
    "chart_csat": "Оценки клиентов",
    "answered": "Отвеченные",
    "unanswered": "Неотвеченные",
    "hour": "Час",
    "seconds": "с",
    "ratings": "Оценки",
    "operators_section": "Операторы",
    "unknown_operators": "Нет в справочнике FreePBX: {names}. Их звонки учтены; добавьте их в FreePBX, "
                         "чтобы видеть имена.",
    "restaurants_section": "Рестораны",
    "csat_section": "Удовлетворённость клиентов",
    "change": "Изменение",
    "same_weekday_last_week": "Тот же день прошлой недели",
    "operator": "Оператор",
    "extension": "Внутр. номер",
    "hours_unit": "ч",
    "restaurant": "Ресторан",
    "restaurant_n": "Ресторан {id}",
    "top_restaurants": "Лучшие рестораны по выручке",
    "score": "Оценка",
    "count": "Количество",
    # bot
    "help": (
        "Я отвечаю на запросы по отчётам сети.\n"
        "/report [дата] — подробный отчёт за день\n"
        "/operators [дата] — показатели операторов\n"
        "/calls [дата] — звонки контакт-центра\n"
        "/restaurant &lt;номер&gt; [дата] — показатели ресторана\n"
        "/week [дата] — отчёт за неделю (пн–вс), по умолчанию прошлую\n"
        "/month [дата] — отчёт за месяц, по умолчанию прошлый\n"
        "/mystats [период] — ваша статистика оператора рядом с медианой команды и последние оценки "
        "с комментариями; период: today, yesterday, week, month или ГГГГ-ММ-ДД..ГГГГ-ММ-ДД\n"
        "/myratings [период] — все ваши оценки за период\n"
        "Руководителям: /mystats 101 [период], /myratings 101 [период] — то же по оператору 101\n"
        "Дата — ГГГГ-ММ-ДД, по умолчанию вчера."
    ),
    "refusal": (
        "Извините, у вас нет доступа к отчётам. Обратитесь к администратору и сообщите ваш "
        "Telegram ID: {telegram_id}."
    ),
    "role_refusal": "Эта команда доступна руководителям и аналитикам. Ваша статистика: /mystats",
    "restaurant_refusal": "Ресторан {id} не входит в ваши рестораны ({allowed}).",
    "not_operator": "Ваша учётная запись не связана с внутренним номером оператора. Обратитесь к администратору.",
    "bad_date": "Не понял дату «{value}». Укажите дату как ГГГГ-ММ-ДД, например {example}.",
    "bad_period": (
        "Не понял период «{value}». Укажите today, yesterday, week, month или диапазон "
        "ГГГГ-ММ-ДД..ГГГГ-ММ-ДД, например {example}."
    ),
    "bad_restaurant": "Укажите номер ресторана: /restaurant 3 [ГГГГ-ММ-ДД].",
    "unknown_restaurant": "Нет данных по ресторану {id} за {date}.",
    "operators_title": "Операторы за {date}",
    "calls_title": "Звонки за {date}",
    "restaurant_title": "Ресторан {id} за {date}",
    "mystats_title": "Ваша статистика ({extension}) за {period}",
    "mystats_empty": "За {period} у вас нет смен и звонков.",
    "peak_hour": "Пиковый час",
    "text_hint": "Я понимаю только команды. Список команд: /help",
    "internal_error": "Не удалось получить данные. Попробуйте позже.",
    # bot: where it answers and what it reads (notifications/bot_guard.py)
    "group_help": (
        "В этой группе я присылаю только сводку по сети: /report [дата]. Подробный отчёт и "
        "остальные команды — в личном чате со мной."
    ),
    "group_private_only": "В группе я показываю только сводку по сети (/report). Это — в личном чате со мной.",
    "chat_closed": "В этом чате я не отвечаю. Напишите мне в личные сообщения.",
    "too_long": "Слишком длинный запрос: не больше {limit} символов. Список команд: /help",
    "alert_delivery_failed": "Утренняя сводка за {date} не доставлена в чат {chat_id}: {error}",
    # periods and comparisons: every change says what it is against
    "vs_day": "к {weekday} {date}",
    "vs_week": "к нед. {start}–{end}",
    "vs_month": "к {month}",
    "no_comparison_week": "нет полных данных за прошлую неделю",
    "no_comparison_month": "нет полных данных за прошлый месяц",
    "week_title": "Отчёт по сети за неделю {start} – {end}",
    "month_title": "Отчёт по сети за {month}",
    "week_summary_title": "Итоги недели {start} – {end}",
    "month_summary_title": "Итоги месяца: {month}",
    "partial_period": "данные за {days} из {total} дн.",
    "trend_section": "По дням",
    "trend_weeks": "{label} по дням, последние {count} нед.",
    "trend_months": "{label} по дням, последние {count} мес.",
    "restaurants_ranked": "Рестораны по выручке: лучшие и худшие",
    "operators_ranked": "Операторы по числу звонков: больше всего и меньше всего",
    "top": "Лучшие",
    "bottom": "Худшие",
    "most": "Больше всего",
    "least": "Меньше всего",
    "no_data_period": "Нет данных за {period}: витрины за этот период пусты. Проверьте, что конвейер отработал.",
    "detailed_week": "Подробно за неделю",
    "detailed_month": "Подробно за месяц",
    # anomaly flags
    "flags_section": "Необычное",
    "flag_high": "выше",
    "flag_low": "ниже",
    "flag_usual": "{label} {value} — {direction} обычного для {weekday}: {band}",
    "flag_alert": "{label} {value} — {direction} порога оповещения {threshold}",
    "flag_both": "{label} {value} — {direction} обычного для {weekday} ({band}) и порога оповещения {threshold}",
    "card_usual": "обычно для {weekday}: {band}",
    "card_alert": "порог оповещения {threshold}",
    # ratings, calls and orders apart
    "ratings_calls": "Звонки",
    "ratings_orders": "Заказы",
    "ratings_total": "Всего",
    "csat_parts": "звонки {call_mean} ({call_count}), заказы {order_mean} ({order_count})",
    "chart_csat_parts": "Оценки: звонки {call_mean} ({call_count}), заказы {order_mean} ({order_count})",
    # an operator's own figures
    "mystats_team": "медиана команды {value}",
    "operator_stats_title": "Оператор {extension} за {period}",
    "own_figures_only": "Можно смотреть только свою статистику (доб. {extension}): /mystats [период].",
    "mystats_rated": "Последние оценки с комментариями",
    "mystats_no_rated": "Оценок с комментариями за период нет.",
    "myratings_title": "Оценки ({extension}) за {period}: {count}",
    "myratings_empty": "За {period} оценок нет.",
    "myratings_more": "… и ещё {count}: /myratings ГГГГ-ММ-ДД..ГГГГ-ММ-ДД, чтобы сузить период",
    "rating_line": "{time} — {score} из 5, ожидание {wait}, разговор {talk}, {result}",
    "call_result_order_placed": "оформлен заказ",
    "call_result_transferred": "переведён",
    "call_result_answered": "отвечен",
    "bad_extension": "Не понял номер оператора «{value}». Укажите внутренний номер, например /mystats 101 week.",
    "unknown_extension": "Оператора с номером {extension} за {period} нет в данных.",
    "previous_week": "Прошлая неделя",
    "previous_month": "Прошлый месяц",
    "alert_weekly_delivery_failed": "Сводка за неделю с {date} не доставлена в чат {chat_id}: {error}",
    "alert_monthly_delivery_failed": "Сводка за месяц с {date} не доставлена в чат {chat_id}: {error}",
}
